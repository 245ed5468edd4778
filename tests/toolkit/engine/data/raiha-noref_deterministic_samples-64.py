# Test config: the tiny Raiha network in its non-reference setting (the references of the training pipeline are
# drawn at random in each process) with a deterministic pipeline: 2 processes × batch 1 must reach the weights of
# 1 process × batch 2. (The frozen content encoder is seeded, so both runs hold the same one.)
_base_ = ['../../../../configs/raiha/raiha-tiny_sgf_adam-20i_samples-64.py']

deterministic = [
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=64),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_dataloader = dict(batch_size=1, sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
                        dataset=dict(pipeline=deterministic))
train_cfg = dict(max_iters=4, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=2, save_best=None, max_keep_ckpts=-1), logger=dict(interval=1))
custom_hooks = [dict(type='ContentEncoderRecordHook')]
randomness = dict(seed=0)
