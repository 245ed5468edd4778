# Stage 2 of the small region-wise contrastive network's chain (external style fusion, the paper's block): the
# bundled stage-1 weights (clharmony-s_stylefusion-s2am_adamw-1500i_lalonde-efros-256: 1,500 iterations, loss still
# falling) trained 1,500 more iterations on the matched distribution (configs/_base_/datasets/matched-256.py) with
# the paper's loss (0.4 L1 + 0.5 L_pixel + 0.1 L_HCL) and a fresh cosine schedule from half the stage-1 learning
# rate; dev fMSE (bsds500-dev) every 500 iterations. The faithful network (it outputs the image itself, no residual).
# load_from names stage 1's file as it was bundled when this stage ran; when a later stage's weights replace it in the
# bundle, train stage 1 first (its config) and add --cfg-options load_from=work_dirs/<stage 1>/iter_N.pth
# (tools/gpu_zoo_training.sh does that).
# Reproduce: python tools/train.py configs/clharmony/clharmony-s_stylefusion-s2am_adamw-1500i-warm-1500i_matched-256.py
_base_ = [
    '../_base_/models/clharmony.py',
    '../_base_/datasets/matched-256.py',
    '../_base_/schedules/warm-start.py',
]
load_from = 'weights/clharmony-s_stylefusion-s2am_adamw-1500i_lalonde-efros-256.safetensors'
model = dict(backbone=dict(base_channels=6, depth=5, blocks=2, attention_levels=(0, 1, 2, 3)),
             fusion=dict(type='StyleFusion'))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=5e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1500, eta_min=1e-5, by_epoch=False, begin=0, end=1500)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500))
