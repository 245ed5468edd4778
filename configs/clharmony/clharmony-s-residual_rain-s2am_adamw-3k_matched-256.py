# The residual-output deviation (see clharmony-s-residual_stylefusion-s2am_adamw-3k_matched-256.py) with RAIN on the
# decoder's own statistics instead of external style fusion: the paper's Fig. 8-9 comparison at zoo scale, same data,
# schedule and seed, so the two dev curves compare point by point.
# Reproduce: python tools/train.py configs/clharmony/clharmony-s-residual_rain-s2am_adamw-3k_matched-256.py
_base_ = ['./clharmony-s-residual_stylefusion-s2am_adamw-3k_matched-256.py']
model = dict(fusion=dict(type='RAIN'))  # the one line that differs
