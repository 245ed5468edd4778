# The bundled sample triplets (data/samples) at 64x64: for CPU tests and `make demo`.
_base_ = ['./iharmony4-256.py']

data_root = '{{ fileDirname }}/../../../data/samples'
train_pipeline = [
    dict(type='LoadHarmonizationImages'),
    dict(type='RandomResizedCrop', size=64, scale=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
test_pipeline = [
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=64),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
# metrics at the data's 64x64 resolution (the toolkit profile would resize to 256)
val_evaluator = dict(_delete_=True, type='HarmonizationMetric', profile=dict(name='toolkit-64', resolution=(64, 64)))
test_evaluator = val_evaluator
