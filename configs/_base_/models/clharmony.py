# Region-wise contrastive harmonization network (plugins/contrastive): ResUNet (width 32, depth 5, 3 residual
# units) with S2AM at all four decoder levels and external style fusion; 28,368,503 parameters.
# First-party plugins register through entry points; the import below keeps uninstalled checkouts working.
custom_imports = dict(imports=['plugins.contrastive'], allow_failed_imports=False)

model = dict(
    type='EncoderDecoderHarmonizer',
    data_preprocessor=dict(type='HarmonizationDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(type='ResUNet', in_channels=4, out_channels=3, base_channels=32, depth=5, blocks=3,
                  attention=dict(type='S2AM'), attention_levels=(0, 1, 2, 3), norm='BN'),
    # one fusion config for every decoder level: swap it with one value, e.g. --cfg-options model.fusion.type=RAIN
    fusion=dict(type='StyleFusion'),
    residual=False,  # the network outputs the image itself
    # losses supervise the raw output H, background included (the paper's L1 is over the whole H);
    # the composite's background is pasted back only for outputs
    blend_background='predict',
    # eq. 13: 0.4 L1 + 0.5 L_pixel + 0.1 L_HCL; named, so a child changes one value (Table VII: K)
    losses=dict(
        l1=dict(type='L1Loss', loss_weight=0.4),
        pixel=dict(type='ForegroundL1Loss', loss_weight=0.5),
        hcl=dict(type='RegionContrastiveLoss', loss_weight=0.1, num_patches=256, temperature=0.07),
    ),
)
