# Table III "Raiha trained w/o Augmentation": retrieved references only (composites without any get none).
_base_ = ['./raiha_sgf_adam-60e_raharmony4-256.py']
train_pipeline = [
    dict(type='SampleRaihaReference', use_retrieved=True, use_augmented=False),
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=256),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
