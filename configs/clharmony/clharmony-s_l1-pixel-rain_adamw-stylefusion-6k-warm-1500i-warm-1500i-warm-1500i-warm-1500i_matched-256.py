# Stage 8 of the RAIN fusion network: stage 7 (clharmony-s_l1-pixel-rain_adamw-stylefusion-6k-warm-1500i-warm-1500i-
# warm-1500i_matched-256, bundled in the tenth sitting) still lowered the dev fMSE at 256 (re-run: 1651.7 / 1523.9 /
# 1423.5 at 500 / 1,000 / 1,500; stage 6's best 1506.6; the input's 1447.5), so the same stage once more, to find
# where RAIN stops: Table VI row C's losses, 1,500 iterations, fresh cosine schedule, another seed and sample order,
# matched data, from stage 7's bundled weights (a warm start: nothing else needs to run first).
# load_from names stage 7's file as it was bundled when this stage ran; it left the bundle in the twelfth
# sitting (docs/zoo.md): train stage 7 first (its config) and add
# --cfg-options load_from=work_dirs/<stage 7>/best_fMSE_iter_1500.pth
# Reproduce:
#   python tools/train.py configs/clharmony/clharmony-s_l1-pixel-rain_adamw-stylefusion-6k-warm-1500i-warm-1500i-warm-1500i-warm-1500i_matched-256.py  # noqa: E501
_base_ = ['./clharmony-s_l1-pixel-rain_adamw-stylefusion-6k-warm-1500i-warm-1500i-warm-1500i_matched-256.py']
load_from = 'weights/clharmony-s_l1-pixel-rain_adamw-stylefusion-6k-warm-1500i-warm-1500i-warm-1500i_matched-256.safetensors'  # noqa: E501
randomness = dict(seed=7)
