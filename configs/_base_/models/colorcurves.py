# Colour-curve harmonizer (plugins/colorcurves): a strided CNN + colour statistics → MLP → one global
# colour transform per image (3x3 matrix + offset, then monotone per-channel curves of 16 segments).
custom_imports = dict(imports=['plugins.colorcurves'], allow_failed_imports=False)

model = dict(
    type='ColorCurveHarmonizer',
    data_preprocessor=dict(type='HarmonizationDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    channels=(16, 32, 64, 96, 128),
    hidden=256,
    segments=16,
    histogram_bins=16,
    pool_levels=2,
    blend_background=True,
    # per-image foreground MSE (equal weight per composite, as fMSE averages)
    losses=[dict(type='ForegroundMSELoss', loss_weight=1.0, min_area=100)],
)
