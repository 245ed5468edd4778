# The chroma-preserving mean (colour_mean='chroma': CIELAB lightness and hue averaged, the chroma the members' mean)
# of the colour-curve network and the AdaIN fusion network: the faithful CL network's stage 5 with the style fusion
# swapped for AdaIN (the fusion comparison, docs/clharmony.md), which on the real dev set makes the fewest triplets
# worse of any zoo model. The same recipe as ensemble_colorcurves-clharmony-s_chroma-mean_matched-256 with the CL
# member replaced. Nothing is trained; the members keep their bundled weights.
# The weight was chosen on the dev sets by the selection's rules from the grid 0.5 / 0.6 / 0.7 / 0.8 (colour curves):
# the lowest real dev fMSE that passes the chroma check is the plain mean (docs/ensemble.md, the sweep in
# docs/results/ensemble-sweep/adain/).
# Score: python tools/full_res_eval.py ensemble_colorcurves-clharmony-s-adain_chroma-mean_matched-256 \
#     --data-root data/real-dev
_base_ = ['./ensemble_colorcurves-clharmony-s_chroma-mean_matched-256.py']

model = dict(members=[
    'configs/colorcurves/colorcurves_adam-6k-warm-3k-warm-3k_matched-256.py',
    'configs/clharmony/clharmony-s_l1-pixel-adain_adamw-stylefusion-6k-warm-1500i_matched-256.py',
])
