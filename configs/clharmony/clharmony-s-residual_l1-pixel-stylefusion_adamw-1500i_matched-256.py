# Table VI row C at zoo scale (0.4 L1 + 0.5 L_pixel, external style fusion, S2AM; no region-wise contrastive loss)
# with the residual-output DEVIATION (`residual=True`: composite + correction; docs/clharmony.md "Identity probe").
# Why without L_HCL: the identity probe (tools/identity_probe.py) of the residual network reaches 2.8 grey levels in
# 400 iterations without it and 14.3 with it, and in training (clharmony-s-residual_stylefusion-s2am_adamw-3k_…) the
# contrastive term fell while the foreground error rose (dev fMSE 1907 at 500 iterations, 2356 at 1,000): at this
# width it pulls the foreground's patches towards the background's and apart from each other, against fidelity.
# Stage 1 of its own chain, from scratch on the matched distribution: 1,500 iterations of batch 8 at 256 px, AdamW
# 1e-3 with cosine decay, dev fMSE (bsds500-dev) every 500 iterations.
# Reproduce:
#   python tools/train.py configs/clharmony/clharmony-s-residual_l1-pixel-stylefusion_adamw-1500i_matched-256.py
_base_ = ['./clharmony-s-residual_stylefusion-s2am_adamw-3k_matched-256.py']
model = dict(losses=dict(hcl=None))  # Table VI row C: no L_HCL
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1500, eta_min=1e-5, by_epoch=False, begin=0, end=1500)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500, val_interval=500)
