model = dict(
    type='EncoderDecoderHarmonizer',
    data_preprocessor=dict(type='HarmonizationDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(type='UNet', in_channels=4, out_channels=3, base_channels=32, num_levels=4),
    # one fusion config for every decoder level, or a list (deepest first); None = identity
    fusion=dict(type='IdentityFusion'),
    residual=True,
    blend_background=True,
    losses=[dict(type='L1Loss', loss_weight=1.0)],
)
