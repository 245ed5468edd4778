# RainNet (Ling et al., CVPR 2021) with its published generator and schedule:
# Adam(lr 2e-4, betas 0.5/0.999), batch 11, 100 epochs at constant lr then 100 epochs of linear decay to 0,
# L1 x 100 on the background-composited output, inputs in [-1, 1], 256x256, random horizontal flip.
# 54,759,043 parameters, as the official net_G_last.pth.
# The adversarial terms of the official training are not part of this config (L1 only; see docs/baselines.md).
_base_ = [
    '../_base_/datasets/iharmony4-256.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['plugins.baselines'], allow_failed_imports=False)

model = dict(
    type='RainNet',
    input_nc=3,
    output_nc=3,
    ngf=64,
    use_dropout=True,
    blend_background=True,
    data_preprocessor=dict(type='HarmonizationDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    losses=[dict(type='L1Loss', loss_weight=100.0)],
)

# the official pipeline resizes to 256 (preprocess "none") and flips; no crop
train_pipeline = [
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=256),
    dict(type='RandomFlip', prob=0.5),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
train_dataloader = dict(batch_size=11, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=100),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True, begin=100, end=200),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=11)
