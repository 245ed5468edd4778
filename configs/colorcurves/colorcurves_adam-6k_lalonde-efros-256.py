# HarmonyZoo's default model: the colour-curve harmonizer trained on the Lalonde & Efros composites; 415,263 parameters.
# Reproduce: python tools/build_dataset.py lalonde-efros data/lalonde-efros
#            python tools/train.py configs/colorcurves/colorcurves_adam-6k_lalonde-efros-256.py
_base_ = [
    '../_base_/models/colorcurves.py',
    '../_base_/datasets/lalonde-efros-256.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999)),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, end_factor=1.0, by_epoch=False, begin=0, end=200),
    dict(type='CosineAnnealingLR', T_max=5800, eta_min=1e-5, by_epoch=False, begin=200, end=6000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=6000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=1000, max_keep_ckpts=2, save_best='PSNR', rule='greater'),
)
log_processor = dict(by_epoch=False, window_size=100)
randomness = dict(seed=0)
