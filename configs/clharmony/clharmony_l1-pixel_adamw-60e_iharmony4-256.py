# Table VI row B: + L_pixel (foreground L1).
_base_ = ['./clharmony_stylefusion-s2am_adamw-60e_iharmony4-256.py']
model = dict(fusion=dict(type='IdentityFusion'),
             losses=[dict(type='L1Loss', loss_weight=0.4, loss_name='loss_l1'),
                     dict(type='ForegroundL1Loss', loss_weight=0.5, loss_name='loss_pixel')])
