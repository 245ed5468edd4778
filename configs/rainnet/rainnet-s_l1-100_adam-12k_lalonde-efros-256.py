# Small RainNet (ngf 6; 482,991 parameters) on the Lalonde & Efros composites with its published loss and optimizer
# (L1 x 100, Adam 2e-4, betas 0.5/0.999), linear decay to 0, 12,000 iterations of batch 8 at 256 px (measured:
# 34 min on one thread of 2 CPU cores beside another run; one step is 8x cheaper than the small UNet's). The zoo's
# comparison of families (docs/zoo.md).
_base_ = ['./rainnet_l1-100_adam-200e_iharmony4-256.py']
model = dict(ngf=6)
data_root = 'data/lalonde-efros'  # the dataset of configs/_base_/datasets/lalonde-efros-256.py
train_pipeline = [  # as the official code: resize to 256 and flip
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=256),
    dict(type='RandomFlip', prob=0.5),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
train_dataloader = dict(batch_size=8, sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=100000, save_last=True, max_keep_ckpts=1, save_best=None),
)
log_processor = dict(by_epoch=False, window_size=50)
param_scheduler = [dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False, begin=0, end=12000)]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=12000, val_interval=12000)
