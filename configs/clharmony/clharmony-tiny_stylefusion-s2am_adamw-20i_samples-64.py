# A narrow, shallow version on the bundled samples at 64 px (K = 32): trains 20 iterations on a CPU in seconds.
_base_ = [
    '../_base_/models/clharmony.py',
    '../_base_/datasets/samples-64.py',
    '../_base_/schedules/adamw_60e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(base_channels=8, depth=3, blocks=1, attention_levels=(0, 1)),
             losses=dict(hcl=dict(num_patches=32)))
optim_wrapper = dict(optimizer=dict(lr=2e-3))
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=20, val_interval=20)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(by_epoch=False, interval=20))
log_processor = dict(by_epoch=False, window_size=5)
