# Non-learned baseline (no weights): evaluate with `tools/test.py THIS_CONFIG none`.
_base_ = ['./copy-paste_iharmony4-256.py']

model = dict(type='ReinhardHarmonizer')
