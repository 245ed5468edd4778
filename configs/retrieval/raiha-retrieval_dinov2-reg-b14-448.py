# Harmonization-oriented retrieval as in Raiha (eqs. 1-5), used by tools/build_gallery.py, tools/retrieve.py and
# tools/build_raharmony4.py. Budget for the 65,742 iHarmony4 training images: see docs/retrieval.md.
retriever = dict(
    type='HarmonizationRetriever',
    encoder=dict(
        type='DenseContentEncoder',
        input_size=448,  # 32x32 tokens of ViT-B/14
        # Pinned: commit a1d738cc of facebook/dinov2-with-registers-base, with the sha256 of its files as other
        # public projects pin them (this project's machines cannot reach the Hub to confirm; a wrong pin fails
        # loudly, naming the file). `harmony download <model>` caches them; then HF_HUB_OFFLINE=1 runs need no network.
        weights=dict(repo_id='facebook/dinov2-with-registers-base',
                     revision='a1d738ccfa7ae170945f210395d99dde8adb1805', filename='model.safetensors',
                     sha256={'model.safetensors': '7a6f7b3b9fa4b8732e707476a03cd6cdce210048582f21aafb7991c17d98e362',
                             'config.json': '6af60aa760138fc90db0ba37b7701730b140b9bf1742514412d03050e72bf7e0'}),
    ),
    grid=8,                      # 8x8 cells per image (the 32x32 tokens average-pooled 4x4)
    hist_bins=(8, 4, 4),         # hue, saturation, value
    content_threshold=0.7,       # epsilon_c
    illumination_threshold=0.9,  # epsilon_a
    illumination_max=None,       # upper bound on the illumination score (Table III bands; None = the paper)
    min_region_share=0.25,
    backend='auto',              # FAISS for galleries of >= faiss_min_images with a faiss.index, else exact
    faiss_min_images=20000,
    nprobe=16,                   # IVF lists per foreground cell (docs/retrieval.md: recall and latency)
    faiss_threads=1,             # 1 is fastest on a shared 2-core machine (measured)
    batch_size=8,
    num_workers=2,
)
