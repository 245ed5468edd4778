# Raiha (retrieval-augmented harmonization): generator ngf 32 (11.46M parameters) guided by frozen
# DINOv2-with-registers ViT-B/14 features at 448x448 (a 32x32 grid = the SGF level of a 256 input).
custom_imports = dict(imports=['plugins.raiha'], allow_failed_imports=False)

content_encoder = dict(
    type='DenseContentEncoder',
    input_size=448,
    # Pulled through the toolkit hub client (safetensors, strict keys). revision=None resolves `main` to its
    # commit once and warns; pin the printed commit here for reproducible runs.
    weights=dict(repo_id='facebook/dinov2-with-registers-base', revision=None, filename='model.safetensors'),
    denoiser=None,  # DVT denoiser: dict(weights=dict(repo_id=..., revision=..., filename=...)) when available
)
model = dict(
    type='RaihaHarmonizer',
    data_preprocessor=dict(type='HarmonizationDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    generator=dict(ngf=32, decoder_norm=dict(type='RAIN'), sgf=dict(temperature=20.0, shared_projection=True)),
    content_encoder=content_encoder,
    # the released code flips a fair coin per iteration: reference vs non-reference iteration
    non_reference_prob=0.5,
    blend_background=True,
    # eq. 11: sum of squared errors / max(eps_f, foreground area) per image. The released eps_f is a floor of
    # 100 foreground pixels and the sum is also divided by the 3 channels, i.e. min_area = 3 * 100 here
    # (this loss floors C * area).
    losses=[dict(type='ForegroundMSELoss', loss_weight=1.0, min_area=300)],
)
