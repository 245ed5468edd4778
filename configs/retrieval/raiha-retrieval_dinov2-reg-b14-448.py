# Harmonization-oriented retrieval as in Raiha (eqs. 1-5), used by tools/build_gallery.py, tools/retrieve.py and
# tools/build_raharmony4.py. Budget for the 65,742 iHarmony4 training images: see docs/retrieval.md.
retriever = dict(
    type='HarmonizationRetriever',
    encoder=dict(
        type='DenseContentEncoder',
        input_size=448,  # 32x32 tokens of ViT-B/14
        # revision=None resolves `main` once (with a warning); the gallery records the commit it was built with
        weights=dict(repo_id='facebook/dinov2-with-registers-base', revision=None, filename='model.safetensors'),
    ),
    grid=8,                      # 8x8 cells per image (the 32x32 tokens average-pooled 4x4)
    hist_bins=(8, 4, 4),         # hue, saturation, value
    content_threshold=0.7,       # epsilon_c
    illumination_threshold=0.9,  # epsilon_a
    min_region_share=0.25,
    backend='auto',              # FAISS for galleries of >= faiss_min_images with a faiss.index, else exact
    faiss_min_images=20000,
    nprobe=32,
    batch_size=8,
    num_workers=2,
)
