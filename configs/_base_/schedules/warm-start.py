# Continued training (a stage of a warm-start chain): `load_from` the bundled weights of the previous stage (set in
# each config) with a fresh optimizer and schedule. Validation on the dev split every `val_interval` iterations draws
# the dev curve; the checkpoint kept besides the last is the one with the lowest dev fMSE (choosing a checkpoint is
# selection: dev data only, docs/zoo.md "Selection rules").
_base_ = ['../default_runtime.py']
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=1000, save_last=True, max_keep_ckpts=1, save_best='fMSE', rule='less'),
)
log_processor = dict(by_epoch=False, window_size=50)
randomness = dict(seed=1)  # another sample order than stage 1's seed 0
