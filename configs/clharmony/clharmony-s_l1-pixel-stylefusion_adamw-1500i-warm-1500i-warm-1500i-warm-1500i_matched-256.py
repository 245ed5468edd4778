# Stage 4 of the faithful network's chain (it outputs the image itself; external style fusion, S2AM), continuing the
# branch that the dev split preferred at stage 3: Table VI row C's losses (0.4 L1 + 0.5 L_pixel, no L_HCL) from the
# row-C stage 3's kept checkpoint (its best on the dev split), the same 1,500-iteration stage with a fresh cosine
# schedule and another sample order. Chosen only if the dev boards prefer it (tools/select_default.py).
# Stage 3's weights are not bundled: train it first (its config), or pass --cfg-options load_from=PATH.
# Reproduce:
#   python tools/train.py \
#       configs/clharmony/clharmony-s_l1-pixel-stylefusion_adamw-1500i-warm-1500i-warm-1500i-warm-1500i_matched-256.py
_base_ = ['./clharmony-s_l1-pixel-stylefusion_adamw-1500i-warm-1500i-warm-1500i_matched-256.py']
load_from = ('work_dirs/clharmony-s_l1-pixel-stylefusion_adamw-1500i-warm-1500i-warm-1500i_matched-256'
             '/best_fMSE_iter_1500.pth')
randomness = dict(seed=3)
