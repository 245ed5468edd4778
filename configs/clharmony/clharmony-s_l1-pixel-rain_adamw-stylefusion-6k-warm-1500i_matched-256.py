# The paper's Fig. 8-9 fusion comparison (style fusion vs RAIN vs AdaIN) on equal training, at zoo scale: the faithful
# network's stage 5 with its fusion swapped for RAIN at every decoder level. The ResUNet, S2AM and decoder start from
# the bundled style-fusion stage 4 (6,000 iterations: stages 1-2 with the paper's loss, 3-4 with Table VI row C's);
# the style-fusion vectors are dropped and the RAIN layers start fresh (load_from is not strict). Then the same stage
# as the style-fusion stage 5 (clharmony-s_l1-pixel-stylefusion_adamw-1500i-warm-...-warm-1500i_matched-256): row C's
# losses, 1,500 iterations, fresh cosine schedule, the same seed and sample order, matched data. 7,500 iterations in
# all for the backbone, as for the style fusion. Its siblings from scratch (clharmony-s_{rain,adain}-s2am_adamw-1500i_
# lalonde-efros-256) had 1,500. Chosen only if the dev boards prefer it (tools/select_default.py).
# Reproduce:
#   python tools/train.py configs/clharmony/clharmony-s_l1-pixel-rain_adamw-stylefusion-6k-warm-1500i_matched-256.py
_base_ = ['./clharmony-s_l1-pixel-stylefusion_adamw-1500i-warm-1500i-warm-1500i-warm-1500i-warm-1500i_matched-256.py']
model = dict(fusion=dict(type='RAIN'))  # the one line that differs
