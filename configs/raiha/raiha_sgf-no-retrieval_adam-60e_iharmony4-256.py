# Table III "Raiha trained w/o Retrieval": augmented targets are the only references, so plain iHarmony4
# training data suffices (no reference list needed).
_base_ = ['./raiha_sgf_adam-60e_raharmony4-256.py']
train_pipeline = [
    dict(type='SampleRaihaReference', use_retrieved=False, use_augmented=True),
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=256),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='MakeTargetReference', crop_ratio=196 / 256, min_foreground=0.5, max_tries=5, flip_prob=0.5),
    dict(type='PackHarmonizationInputs'),
]
train_dataloader = dict(dataset=dict(_delete_=True, type='IHarmony4Dataset', data_root='data/iHarmony4',
                                     split='train', pipeline=train_pipeline))
