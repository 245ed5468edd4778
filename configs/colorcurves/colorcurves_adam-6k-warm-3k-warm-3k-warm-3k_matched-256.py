# Stage 4 of the colour-curve chain: is the default at its plateau? The same stage as stage 3 (3,000 iterations on the
# matched distribution, fresh cosine schedule, dev fMSE every 500) from stage 3's bundled weights, another sample
# order. Chosen only if the dev boards prefer it (tools/select_default.py).
# Reproduce: python tools/train.py configs/colorcurves/colorcurves_adam-6k-warm-3k-warm-3k-warm-3k_matched-256.py
_base_ = ['./colorcurves_adam-6k-warm-3k_matched-256.py']
load_from = 'weights/colorcurves_adam-6k-warm-3k-warm-3k_matched-256.safetensors'
randomness = dict(seed=3)
