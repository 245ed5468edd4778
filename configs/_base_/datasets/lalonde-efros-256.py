# The Lalonde & Efros training set built by `python tools/build_dataset.py lalonde-efros data/lalonde-efros`
# (real LabelMe photos with object masks, composites made as iHarmony4 made them; split by photo).
# Validation during training uses its held-out test split; recipes, checkpoints and the default are chosen on the
# dev sets only (the real dev set, configs/_base_/datasets/real-dev-256.py, and the synthetic `bsds500-dev`
# split; docs/zoo.md "Selection rules"). The real triplets (data/samples, ../shared/data/triplets) are evaluation
# data: scored once, at the end, never used for training or to choose anything.
_base_ = ['./iharmony4-256.py']

data_root = 'data/lalonde-efros'
train_pipeline = [
    dict(type='LoadHarmonizationImages'),
    dict(type='RandomResizedCrop', size=256, scale=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, num_workers=2, persistent_workers=True, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
