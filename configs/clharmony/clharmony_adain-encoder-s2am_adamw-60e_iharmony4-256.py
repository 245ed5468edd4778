# AdaIN taking its statistics from the whole encoder feature of the level (external, without regions): not the
# paper's Fig. 8-9 comparator (clharmony_adain-s2am-...), kept as a named variant.
_base_ = ['./clharmony_stylefusion-s2am_adamw-60e_iharmony4-256.py']
custom_imports = dict(imports=['plugins.contrastive', 'plugins.baselines'], allow_failed_imports=False)
model = dict(fusion=dict(type='AdaIN', style='encoder'))
