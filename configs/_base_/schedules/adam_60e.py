optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999)))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=60, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the learning rate above is for a total batch of 8; `--auto-scale-lr` rescales it
auto_scale_lr = dict(enable=False, base_batch_size=8)
