# Small region-wise contrastive network (863,136 parameters: ResUNet width 6, depth 5, 2 units, S2AM at all four
# decoder levels) with external style fusion (the paper's) at every decoder level, trained as the paper trains
# (0.4 L1 + 0.5 L_pixel + 0.1 L_HCL, AdamW 1e-3) on the Lalonde & Efros composites: 1,500 iterations of batch 8 at
# 256 px (measured: 53 min on one thread of 2 CPU cores beside another run), cosine decay. With its two siblings
# it repeats the paper's Fig. 8-9 comparison (style fusion vs RAIN vs AdaIN) at zoo scale.
_base_ = [
    '../_base_/models/clharmony.py',
    '../_base_/datasets/lalonde-efros-256.py',
    '../_base_/schedules/small-variants_30min.py',
]
train_dataloader = dict(batch_size=8)
model = dict(backbone=dict(base_channels=6, depth=5, blocks=2, attention_levels=(0, 1, 2, 3)),
             fusion=dict(type='StyleFusion'))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1500, eta_min=1e-5, by_epoch=False, begin=0, end=1500)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500, val_interval=1500)
