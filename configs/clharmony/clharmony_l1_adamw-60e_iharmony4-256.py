# Table VI row A: the base network (ResUNet + S2AM) trained with L1 only; no style fusion, no contrastive loss.
_base_ = ['./clharmony_stylefusion-s2am_adamw-60e_iharmony4-256.py']
model = dict(fusion=dict(type='IdentityFusion'), losses=dict(pixel=None, hcl=None))
