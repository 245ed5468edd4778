# Stage 6 of the AdaIN fusion network (stage 5: clharmony-s_l1-pixel-adain_adamw-stylefusion-6k-warm-1500i_matched-256,
# the fusion comparison's AdaIN row). Its dev fMSE at 256 was still falling at the end of stage 5 (1243.9 / 1197.4 /
# 1181.3 at 500 / 1,000 / 1,500), so the same stage again from its bundled weights: Table VI row C's losses, 1,500
# iterations, fresh cosine schedule, another seed and sample order, matched data. 9,000 iterations in all for the
# backbone. Chosen only if the dev boards prefer it (tools/select_default.py).
# Reproduce:
#   python tools/train.py configs/clharmony/clharmony-s_l1-pixel-adain_adamw-stylefusion-6k-warm-1500i-warm-1500i_matched-256.py  # noqa: E501
_base_ = ['./clharmony-s_l1-pixel-adain_adamw-stylefusion-6k-warm-1500i_matched-256.py']
load_from = 'weights/clharmony-s_l1-pixel-adain_adamw-stylefusion-6k-warm-1500i_matched-256.safetensors'
randomness = dict(seed=5)
