# The residual row-C network (clharmony-s-residual_l1-pixel-stylefusion_adamw-1500i_matched-256.py) with RAIN on the
# decoder's own statistics instead of external style fusion: the paper's Fig. 8-9 comparison at zoo scale, same data,
# schedule and seed, so the two dev curves compare point by point.
# Reproduce: python tools/train.py configs/clharmony/clharmony-s-residual_l1-pixel-rain_adamw-1500i_matched-256.py
_base_ = ['./clharmony-s-residual_l1-pixel-stylefusion_adamw-1500i_matched-256.py']
model = dict(fusion=dict(type='RAIN'))  # the one line that differs
