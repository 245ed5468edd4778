# Region-wise contrastive harmonization network (plugins/contrastive): ResUNet (width 32, depth 5, 3 residual
# units) with S2AM at all four decoder levels and external style fusion; 28,368,503 parameters.
custom_imports = dict(imports=['plugins.contrastive'], allow_failed_imports=False)

model = dict(
    type='EncoderDecoderHarmonizer',
    data_preprocessor=dict(type='HarmonizationDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(type='ResUNet', in_channels=4, out_channels=3, base_channels=32, depth=5, blocks=3,
                  attention=dict(type='S2AM'), attention_levels=(0, 1, 2, 3), norm='BN'),
    fusion=dict(type='StyleFusion'),
    residual=False,  # the network outputs the image itself
    blend_background=True,
    # eq. 13: 0.4 L1 + 0.5 L_pixel + 0.1 L_HCL
    losses=[
        dict(type='L1Loss', loss_weight=0.4, loss_name='loss_l1'),
        dict(type='ForegroundL1Loss', loss_weight=0.5, loss_name='loss_pixel'),
        dict(type='RegionContrastiveLoss', loss_weight=0.1, num_patches=256, temperature=0.07),
    ],
)
