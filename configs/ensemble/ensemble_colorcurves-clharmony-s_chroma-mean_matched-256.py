# The same two members as ensemble_colorcurves-0p7-clharmony-s-0p3_matched-256, mixed without greying: lightness and
# hue averaged in CIELAB, the chroma the mean of the members' chromas (colour_mean='chroma',
# toolkit.ops.color.chroma_preserving_mean). The plain RGB mean of two hues is greyer than either, which is why the
# RGB ensemble's plain mean failed the selection's chroma check. Nothing is trained; the members keep their weights.
# The weight was chosen on the dev sets by the selection's rules from the grid 0.5 / 0.6 / 0.7 / 0.8 (colour curves):
# the lowest real dev fMSE that passes the chroma check is the plain mean; docs/ensemble.md has the sweep.
# Score: python tools/full_res_eval.py ensemble_colorcurves-clharmony-s_chroma-mean_matched-256 \
#     --data-root data/real-dev
_base_ = ['./ensemble_colorcurves-0p7-clharmony-s-0p3_matched-256.py']

model = dict(weights=[1, 1], colour_mean='chroma')
