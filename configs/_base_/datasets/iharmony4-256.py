# iHarmony4 (all four subsets) at 256x256, as released: see docs/datasets.md.
# iHarmony4 has no validation split; like the published methods we validate on the test split.
dataset_type = 'IHarmony4Dataset'
data_root = 'data/iHarmony4'
subsets = None  # or e.g. ['HCOCO', 'HFlickr']

train_pipeline = [
    dict(type='LoadHarmonizationImages'),
    # random crop (50-100% of the area) resized to 256 + horizontal flip, as the papers train
    dict(type='RandomResizedCrop', size=256, scale=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
test_pipeline = [
    dict(type='LoadHarmonizationImages'),
    # straight resize, no aspect preservation (the field's evaluation protocol)
    dict(type='Resize', scale=256),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', subsets=subsets, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', subsets=subsets, pipeline=test_pipeline),
)
test_dataloader = val_dataloader

val_evaluator = dict(type='HarmonizationMetric', profile='toolkit')
test_evaluator = val_evaluator
