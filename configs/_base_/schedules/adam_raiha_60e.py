# Raiha's schedule: Adam (0.9, 0.999), lr 0.004 for a batch of 48, 40 epochs constant then linear decay to 0
# by epoch 60.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-3, betas=(0.9, 0.999)))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True, begin=40, end=60,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=60, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=48)
