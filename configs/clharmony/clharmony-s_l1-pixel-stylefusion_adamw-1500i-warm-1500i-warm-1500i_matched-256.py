# The control beside stage 3 of the faithful chain (clharmony-s_stylefusion-s2am_adamw-1500i-warm-1500i-warm-1500i_…):
# the same stage from the same stage-2 checkpoint, schedule and sample order, with Table VI row C's losses (0.4 L1 +
# 0.5 L_pixel, no region-wise contrastive loss). Asks whether L_HCL is what slows the faithful network's descent at
# this width (docs/clharmony.md "Identity probe"); chosen only if the dev boards prefer it.
# Reproduce (stage 2 first, as for stage 3):
#   python tools/train.py \
#       configs/clharmony/clharmony-s_l1-pixel-stylefusion_adamw-1500i-warm-1500i-warm-1500i_matched-256.py
_base_ = ['./clharmony-s_stylefusion-s2am_adamw-1500i-warm-1500i-warm-1500i_matched-256.py']
model = dict(losses=dict(hcl=None))  # Table VI row C: no L_HCL
