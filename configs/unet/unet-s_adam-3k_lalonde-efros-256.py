# Small UNet (base 8, 4 levels; 650,323 parameters) on the Lalonde & Efros composites: L1, Adam 1e-3 with cosine
# decay, 3,000 iterations of batch 8 at 256 px (~30 min on 2 CPU cores). The zoo's comparison of families on
# equal data and compute (docs/zoo.md).
_base_ = [
    '../_base_/models/unet.py',
    '../_base_/datasets/lalonde-efros-256.py',
    '../_base_/schedules/small-variants_30min.py',
]
train_dataloader = dict(batch_size=8)
model = dict(backbone=dict(base_channels=8, num_levels=4))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999)))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=3000, eta_min=1e-5, by_epoch=False, begin=0, end=3000)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=3000, val_interval=3000)
