# Stage 2 of the small UNet's chain: the bundled stage-1 weights (unet-s_adam-3k_lalonde-efros-256: 3,000 iterations
# on the Lalonde & Efros composites) trained 3,000 more iterations on the matched distribution (unchanged pairs, mild
# changes, small-object shifts; configs/_base_/datasets/matched-256.py) with a fresh cosine schedule from half the
# stage-1 learning rate; dev fMSE (bsds500-dev) every 500 iterations. Model card: docs/zoo.md "Training chains".
# load_from names stage 1's file as it was bundled when this stage ran; when a later stage's weights replace it in the
# bundle, train stage 1 first (its config) and add --cfg-options load_from=work_dirs/<stage 1>/iter_N.pth
# (tools/gpu_zoo_training.sh does that).
# Reproduce: python tools/train.py configs/unet/unet-s_adam-3k-warm-3k_matched-256.py
_base_ = [
    '../_base_/models/unet.py',
    '../_base_/datasets/matched-256.py',
    '../_base_/schedules/warm-start.py',
]
load_from = 'weights/unet-s_adam-3k_lalonde-efros-256.safetensors'
model = dict(backbone=dict(base_channels=8, num_levels=4))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-4, betas=(0.9, 0.999)))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=3000, eta_min=1e-5, by_epoch=False, begin=0, end=3000)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=3000, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500))
