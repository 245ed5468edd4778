# Fig. 8-9: every style-fusion layer replaced by AdaIN (blocks from the baselines plugin).
_base_ = ['./clharmony_stylefusion-s2am_adamw-60e_iharmony4-256.py']
custom_imports = dict(imports=['plugins.contrastive', 'plugins.baselines'], allow_failed_imports=False)
model = dict(fusion=dict(type='AdaIN'))
