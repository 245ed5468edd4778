# Control for the boundary-band stage (colorcurves-band2_adam-6k-warm-3k-warm-3k_matched-256.py): the same third
# stage, schedule, data and sample order, without the boundary-band inputs, so that a difference between the two is
# the inputs', not 3,000 more iterations'.
# Reproduce: python tools/train.py configs/colorcurves/colorcurves_adam-6k-warm-3k-warm-3k_matched-256.py
_base_ = ['./colorcurves_adam-6k-warm-3k_matched-256.py']
load_from = 'weights/colorcurves_adam-6k-warm-3k_matched-256.safetensors'
randomness = dict(seed=2)
