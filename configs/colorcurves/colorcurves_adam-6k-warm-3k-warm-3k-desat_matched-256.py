# Stage 3 with a chroma-balancing augmentation: the same stage as colorcurves_adam-6k-warm-3k-warm-3k_matched-256 (from
# the bundled stage 2, 3,000 iterations, seed 2), with ForegroundDesaturation in the training pipeline — 30 % of the
# training composites get their foreground's saturation scaled by 0.4-1.0 (the real image untouched), because the
# matched composites are more colourful than their real images more often than greyer and the models learned to
# take colour out (HFlickr on the real dev set; docs/colorcurves.md).
# Reproduce: python tools/train.py configs/colorcurves/colorcurves_adam-6k-warm-3k-warm-3k-desat_matched-256.py
_base_ = ['./colorcurves_adam-6k-warm-3k_matched-256.py']
load_from = 'weights/colorcurves_adam-6k-warm-3k_matched-256.safetensors'
randomness = dict(seed=2)

train_pipeline = [
    dict(type='LoadHarmonizationImages'),
    dict(type='RandomResizedCrop', size=256, scale=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='ForegroundDesaturation', prob=0.3, factor=(0.4, 1.0)),
    dict(type='PackHarmonizationInputs'),
]
train_dataloader = dict(dataset=dict(datasets=[
    dict(type='IHarmony4Dataset', data_root='data/lalonde-efros-matched', split='train', pipeline=train_pipeline),
    dict(type='IHarmony4Dataset', data_root='data/bsds500', split='train', pipeline=train_pipeline),
]))
