# Tiny UNet on the bundled samples: trains 20 iterations on 2 CPU cores in seconds.
_base_ = [
    '../_base_/models/unet.py',
    '../_base_/datasets/samples-64.py',
    '../_base_/schedules/adam_60e.py',
    '../_base_/default_runtime.py',
]

model = dict(backbone=dict(base_channels=8, num_levels=3))
optim_wrapper = dict(optimizer=dict(lr=2e-3))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=20, val_interval=20)
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(by_epoch=False, interval=10, max_keep_ckpts=2),
)
log_processor = dict(by_epoch=False, window_size=5)
custom_hooks = [dict(type='HarmonizationVisualizationHook', max_images=6)]
