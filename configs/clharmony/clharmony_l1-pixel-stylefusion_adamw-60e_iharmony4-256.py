# Table VI row C: + external style fusion (row D, + L_HCL, is the default config).
_base_ = ['./clharmony_stylefusion-s2am_adamw-60e_iharmony4-256.py']
model = dict(losses=dict(hcl=None))
