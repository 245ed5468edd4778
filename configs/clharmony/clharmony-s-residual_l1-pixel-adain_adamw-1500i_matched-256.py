# The residual row-C network (clharmony-s-residual_l1-pixel-stylefusion_adamw-1500i_matched-256.py) with AdaIN on the
# decoder's own background statistics instead of external style fusion: the third arm of the paper's Fig. 8-9
# comparison at zoo scale (RAIN: clharmony-s-residual_l1-pixel-rain_adamw-1500i_matched-256.py), same data, schedule
# and seed, so the three dev curves compare point by point.
# Reproduce: python tools/train.py configs/clharmony/clharmony-s-residual_l1-pixel-adain_adamw-1500i_matched-256.py
_base_ = ['./clharmony-s-residual_l1-pixel-stylefusion_adamw-1500i_matched-256.py']
model = dict(fusion=dict(type='AdaIN', style='decoder-background'))  # the one line that differs
