# The runtime of the small zoo variants: about 30 minutes of a 2-core CPU each (iterations and optimizer set per
# family in its config, batch 8 at 256 px), evaluated once at the end, the last checkpoint kept.
_base_ = ['../default_runtime.py']
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=100000, save_last=True, max_keep_ckpts=1, save_best=None),
)
log_processor = dict(by_epoch=False, window_size=50)
randomness = dict(seed=0)
