# Test config: the tiny RainNet (instance norm and RAIN normalise each image on its own, so batch splitting is
# exact) without dropout (random per process) and with a deterministic pipeline: 2 processes × batch 1 must reach
# the weights of 1 process × batch 2.
_base_ = ['../../../../configs/rainnet/rainnet-tiny_l1_adam-40i_samples-256.py']

deterministic = [
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=256),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
model = dict(use_dropout=False)
# plain SGD: Adam's per-parameter scaling turns rounding in near-zero gradients into visible differences
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_dataloader = dict(batch_size=1, sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
                        dataset=dict(pipeline=deterministic))
train_cfg = dict(max_iters=4, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=2, save_best=None), logger=dict(interval=1))
custom_hooks = []
randomness = dict(seed=0)
