# Table VII: K = 128 sampled patches per region (default 256).
_base_ = ['./clharmony_stylefusion-s2am_adamw-60e_iharmony4-256.py']
model = dict(losses=dict(hcl=dict(num_patches=128)))
