# The AdaIN fusion network's stage 6 with a texture term: the network outputs the image itself, and at 256² its own
# output falls short of the benchmark's texture bound (synthetic dev foreground SSIM 0.7906 against the input's
# 0.8445; the bound is 0.02). Row C's L1 terms charge a blurred foreground only its few levels of error, so this
# stage adds the bound's quantity as a loss: 0.2 · (1 − foreground SSIM) (ForegroundSSIMLoss). Everything else is the
# plain stage 6 (clharmony-s_l1-pixel-adain_adamw-stylefusion-6k-warm-1500i-warm-1500i_matched-256): the bundled
# stage-5 weights, 1,500 iterations, fresh cosine schedule, seed 5 and its sample order, matched data — so the two
# stage-6 runs differ by the one loss term. The weight (0.2: about the L1 terms' size at the start) was fixed before
# the run; there is one run. Chosen only if the dev boards prefer it (tools/select_default.py).
# Reproduce:
#   python tools/train.py configs/clharmony/clharmony-s_l1-pixel-ssim-adain_adamw-stylefusion-6k-warm-1500i-warm-1500i_matched-256.py  # noqa: E501
_base_ = ['./clharmony-s_l1-pixel-adain_adamw-stylefusion-6k-warm-1500i-warm-1500i_matched-256.py']
model = dict(losses=dict(ssim=dict(type='ForegroundSSIMLoss', loss_weight=0.2)))
