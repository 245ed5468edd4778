# The colour-curve harmonizer, narrow, on the bundled samples at 64 px: 20 iterations on a CPU in seconds (tests).
_base_ = [
    '../_base_/models/colorcurves.py',
    '../_base_/datasets/samples-64.py',
    '../_base_/default_runtime.py',
]
model = dict(channels=(8, 16, 32), hidden=32, segments=8, histogram_bins=8)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = []
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20, val_interval=20)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(by_epoch=False, interval=20))
log_processor = dict(by_epoch=False, window_size=5)
