# Stage 3 of the colour-curve chain with boundary-band inputs (plugins/colorcurves: boundary_statistics): the MLP
# also reads the colours of a band either side of the mask's edge (2 px of the 64² statistics grid, 8 px at 256),
# the evidence a fitting composite and a pasted one differ by. Warm start from stage 2 (the bundled default): the new
# inputs start at zero weight, so iteration 0 is the default exactly; 3,000 iterations on the matched distribution,
# the stage-2 schedule. Its control, the same stage without the new inputs, is
# colorcurves_adam-6k-warm-3k-warm-3k_matched-256.py.
# Reproduce: python tools/train.py configs/colorcurves/colorcurves-band2_adam-6k-warm-3k-warm-3k_matched-256.py
_base_ = ['./colorcurves_adam-6k-warm-3k_matched-256.py']
model = dict(boundary_width=2)
load_from = 'weights/colorcurves_adam-6k-warm-3k_matched-256.safetensors'
randomness = dict(seed=2)  # another sample order than stage 2's
