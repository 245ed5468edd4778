# Test config: the tiny UNet without normalisation layers and with a deterministic pipeline, so 2 processes × batch 1
# must reach exactly the weights of 1 process × batch 2 (DDP averages the two per-process mean losses' gradients).
_base_ = ['../../../../configs/unet/unet-tiny_identity_adam-20i_samples-64.py']

deterministic = [
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=64),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]
model = dict(backbone=dict(norm_cfg=None))
# plain SGD: Adam divides each gradient by its running RMS, which turns float rounding in near-zero gradients
# (the two runs sum in different orders) into differences of ~1e-5; SGD keeps them at rounding level
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_dataloader = dict(batch_size=1, sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
                        dataset=dict(pipeline=deterministic))
train_cfg = dict(max_iters=4, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=2, save_best=None), logger=dict(interval=1))
custom_hooks = []
randomness = dict(seed=0)
