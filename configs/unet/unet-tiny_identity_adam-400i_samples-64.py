# `make demo`: the tiny UNet trained 400 iterations on the bundled samples (~20 s on 2 CPU cores).
# It learns (and memorises) the six sample images: a demonstration of the pipeline, not a benchmark.
_base_ = ['./unet-tiny_identity_adam-20i_samples-64.py']

train_cfg = dict(max_iters=400, val_interval=200)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=200))
log_processor = dict(window_size=50)
