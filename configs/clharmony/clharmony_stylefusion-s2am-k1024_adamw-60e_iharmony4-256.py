# Table VII: K = 1024 sampled patches per region (default 256).
_base_ = ['./clharmony_stylefusion-s2am_adamw-60e_iharmony4-256.py']
model = dict(losses=[
    dict(type='L1Loss', loss_weight=0.4, loss_name='loss_l1'),
    dict(type='ForegroundL1Loss', loss_weight=0.5, loss_name='loss_pixel'),
    dict(type='RegionContrastiveLoss', loss_weight=0.1, num_patches=1024, temperature=0.07),
])
