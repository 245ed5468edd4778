# Stage 2 of the colour-curve chain with another loss: the same start (the bundled stage-1 weights), data, schedule
# and dev checks as colorcurves_adam-6k-warm-3k_matched-256, trained on the per-image log-ratio of the foreground
# error to the composite's (RelativeForegroundMSELoss: log((fMSE(pred) + 16) / (fMSE(composite) + 16)), levels²)
# instead of the foreground MSE. Why: tools/change_calibration.py showed the fMSE-trained stage 2 moving every dev
# composite by a similar amount (Spearman 0.33 between its change and how far off the composite was), making 30 of
# the 37 closest composites worse: under the fMSE the far-off composites outweigh the close ones a hundredfold; the
# log-ratio weighs "twice as bad" on a close composite like "half as bad" on a far one.
# Reproduce: python tools/train.py configs/colorcurves/colorcurves_fg-log-ratio_adam-6k-warm-3k_matched-256.py
_base_ = ['./colorcurves_adam-6k-warm-3k_matched-256.py']
model = dict(losses=[dict(type='RelativeForegroundMSELoss', loss_weight=1.0, floor_levels=16.0, min_area=100)])
