# Raiha (retrieval-augmented harmonization): generator ngf 32 (11.46M parameters) guided by frozen
# DINOv2-with-registers ViT-B/14 features at 448x448 (a 32x32 grid = the SGF level of a 256 input).
custom_imports = dict(imports=['plugins.raiha'], allow_failed_imports=False)

content_encoder = dict(
    type='DenseContentEncoder',
    input_size=448,
    # Pinned: commit a1d738cc of facebook/dinov2-with-registers-base, with the sha256 of its files as other
    # public projects pin them (this project's machines cannot reach the Hub to confirm; a wrong pin fails
    # loudly, naming the file). `harmony download <model>` caches them; then HF_HUB_OFFLINE=1 runs need no network.
    weights=dict(repo_id='facebook/dinov2-with-registers-base',
                 revision='a1d738ccfa7ae170945f210395d99dde8adb1805', filename='model.safetensors',
                 sha256={'model.safetensors': '7a6f7b3b9fa4b8732e707476a03cd6cdce210048582f21aafb7991c17d98e362',
                         'config.json': '6af60aa760138fc90db0ba37b7701730b140b9bf1742514412d03050e72bf7e0'}),
    denoiser=None,  # DVT denoiser: dict(weights=dict(repo_id=..., revision=..., filename=...)) when available
)
model = dict(
    type='RaihaHarmonizer',
    data_preprocessor=dict(type='HarmonizationDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    # reference_mode='concat': composite and reference side by side through the whole U-Net (the paper's
    # "concatenated with the composite image" and the released layout); 'attention': only as SGF keys
    generator=dict(ngf=32, decoder_norm=dict(type='RAIN'), sgf=dict(temperature=20.0, shared_projection=True),
                   reference_mode='concat'),
    content_encoder=content_encoder,
    # the released code flips a fair coin per iteration: reference vs non-reference iteration
    non_reference_prob=0.5,
    blend_background=True,
    # eq. 11: sum of squared errors / max(eps_f, foreground area) per image. The released eps_f is a floor of
    # 100 foreground pixels and the sum is also divided by the 3 channels, i.e. min_area = 3 * 100 here
    # (this loss floors C * area).
    losses=[dict(type='ForegroundMSELoss', loss_weight=1.0, min_area=300)],
)
