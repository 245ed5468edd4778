# RainNet at width 4 on the bundled samples (RainNet needs 256 px: eight stride-2 levels): 40 iterations in ~5 s
# on a CPU, for tests.
_base_ = ['./rainnet_l1-100_adam-200e_iharmony4-256.py']

data_root = '{{ fileDirname }}/../../data/samples'
model = dict(ngf=4)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
param_scheduler = []
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=40, val_interval=40)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(by_epoch=False, interval=20))
log_processor = dict(by_epoch=False, window_size=10)
