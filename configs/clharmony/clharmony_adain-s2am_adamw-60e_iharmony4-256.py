# Fig. 8-9: every style-fusion layer replaced by AdaIN on the decoder's own (internal) background statistics, the
# paper's comparator for external guidance. `style='encoder'` (clharmony_adain-encoder-...) is the other reading.
_base_ = ['./clharmony_stylefusion-s2am_adamw-60e_iharmony4-256.py']
custom_imports = dict(imports=['plugins.contrastive', 'plugins.baselines'], allow_failed_imports=False)
model = dict(fusion=dict(type='AdaIN', style='decoder-background'))
