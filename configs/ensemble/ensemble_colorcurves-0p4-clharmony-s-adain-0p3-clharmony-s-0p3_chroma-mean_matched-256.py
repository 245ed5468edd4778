# Three members, mixed without greying (colour_mean='chroma': CIELAB lightness and hue averaged, the chroma the
# members' weighted mean): the colour-curve network and both bundled CL networks, the AdaIN fusion network (the
# default's second member since the seventh selection) and the faithful style-fusion network (row C's stage 4, the
# second member before it). The two CL networks move far-off objects and fail on different composites; the colour
# curves keep texture and colour. Nothing is trained; each member keeps its own bundled weights.
# The weights were chosen on the dev sets by the selection's rule from a grid fixed before the sweep (colour curves
# 0.4 / 0.5 / 0.6, the rest split 1:1 or 2:1 between the AdaIN and style-fusion networks): the lowest real dev fMSE that
# passes the chroma check is 0.4 / 0.3 / 0.3 (docs/ensemble.md; docs/results/ensemble-sweep/three/).
# Score: python tools/full_res_eval.py \
#     ensemble_colorcurves-0p4-clharmony-s-adain-0p3-clharmony-s-0p3_chroma-mean_matched-256 --data-root data/real-dev
_base_ = ['./ensemble_colorcurves-clharmony-s_chroma-mean_matched-256.py']

model = dict(
    members=[
        'configs/colorcurves/colorcurves_adam-6k-warm-3k-warm-3k_matched-256.py',
        'configs/clharmony/clharmony-s_l1-pixel-adain_adamw-stylefusion-6k-warm-1500i_matched-256.py',
        'configs/clharmony/clharmony-s_l1-pixel-stylefusion_adamw-1500i-warm-1500i-warm-1500i-warm-1500i_matched-256.py',
    ],
    weights=[0.4, 0.3, 0.3])
