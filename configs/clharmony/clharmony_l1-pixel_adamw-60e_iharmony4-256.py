# Table VI row B: + L_pixel (foreground L1).
_base_ = ['./clharmony_stylefusion-s2am_adamw-60e_iharmony4-256.py']
model = dict(fusion=dict(type='IdentityFusion'), losses=dict(hcl=None))
