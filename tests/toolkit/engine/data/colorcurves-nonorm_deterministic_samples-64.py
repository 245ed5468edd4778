# Test config: the tiny colour-curve harmonizer without BatchNorm (it normalises each process's batch on its own,
# which no batch split can reproduce) and with a deterministic pipeline: 2 processes × batch 1 must reach the
# weights of 1 process × batch 2.
_base_ = ['../../../../configs/colorcurves/colorcurves-tiny_adam-20i_samples-64.py']

deterministic = [
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=64),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
model = dict(norm_cfg=None)
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_dataloader = dict(batch_size=1, sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
                        dataset=dict(pipeline=deterministic))
train_cfg = dict(max_iters=4, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=2, save_best=None), logger=dict(interval=1))
custom_hooks = []
randomness = dict(seed=0)
