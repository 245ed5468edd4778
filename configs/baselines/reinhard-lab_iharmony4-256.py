# Non-learned baseline (no weights): evaluate with `tools/test.py THIS_CONFIG none`.
_base_ = [
    '../_base_/datasets/iharmony4-256.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['plugins.baselines'], allow_failed_imports=False)

model = dict(type='ReinhardHarmonizer')
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
train_dataloader = None
