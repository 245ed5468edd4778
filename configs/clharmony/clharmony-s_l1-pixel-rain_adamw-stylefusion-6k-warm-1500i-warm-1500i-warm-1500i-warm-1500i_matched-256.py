# Stage 8 of the RAIN fusion network: stage 7 (clharmony-s_l1-pixel-rain_adamw-stylefusion-6k-warm-1500i-warm-1500i-
# warm-1500i_matched-256) still lowered the dev fMSE at 256 (1666.3 / 1527.0 / 1457.3 at 500 / 1,000 / 1,500; the
# input's 1447.5; -4.6 % over its last 500), so the same stage once more, to find where RAIN stops: Table VI row C's
# losses, 1,500 iterations, fresh cosine schedule, another seed and sample order, matched data, from stage 7's kept
# checkpoint (not bundled: run stages 5, 6 and 7 first).
# Reproduce:
#   python tools/train.py configs/clharmony/clharmony-s_l1-pixel-rain_adamw-stylefusion-6k-warm-1500i-warm-1500i-warm-1500i-warm-1500i_matched-256.py  # noqa: E501
_base_ = ['./clharmony-s_l1-pixel-rain_adamw-stylefusion-6k-warm-1500i-warm-1500i-warm-1500i_matched-256.py']
load_from = ('work_dirs/clharmony-s_l1-pixel-rain_adamw-stylefusion-6k-warm-1500i-warm-1500i-warm-1500i_matched-256/'
             'best_fMSE_iter_1500.pth')
randomness = dict(seed=7)
