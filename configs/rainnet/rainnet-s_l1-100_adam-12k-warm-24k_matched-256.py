# Stage 2 of the small RainNet's chain: the bundled stage-1 weights (rainnet-s_l1-100_adam-12k_lalonde-efros-256:
# 12,000 iterations, loss still falling) trained 24,000 more iterations on the matched distribution
# (configs/_base_/datasets/matched-256.py) with the published loss and optimizer (L1 x 100, Adam, betas 0.5/0.999),
# a fresh linear decay from half the stage-1 learning rate; dev fMSE (bsds500-dev) every 3,000 iterations. With
# stage 1 that would be 36,000 iterations (3x). The run was stopped at 16,950: its dev fMSE had risen for 9,000
# iterations (1,634 at 6,000, the checkpoint kept; 1,802 at 15,000), worse than the input's 1,448 at every check.
# load_from names stage 1's file as it was bundled when this stage ran; when a later stage's weights replace it in the
# bundle, train stage 1 first (its config) and add --cfg-options load_from=work_dirs/<stage 1>/iter_N.pth
# (tools/gpu_zoo_training.sh does that).
# Reproduce: python tools/train.py configs/rainnet/rainnet-s_l1-100_adam-12k-warm-24k_matched-256.py
_base_ = ['./rainnet-s_l1-100_adam-12k_lalonde-efros-256.py']
load_from = 'weights/rainnet-s_l1-100_adam-12k_lalonde-efros-256.safetensors'
train_pipeline = {{_base_.train_pipeline}}  # stage 1's, as the official code: resize to 256 and flip
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    dataset=dict(_delete_=True, type='ConcatDataset', ignore_keys=['subsets'], datasets=[
        dict(type='IHarmony4Dataset', data_root='data/lalonde-efros-matched', split='train', pipeline=train_pipeline),
        dict(type='IHarmony4Dataset', data_root='data/bsds500', split='train', pipeline=train_pipeline),
    ]))
val_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=True,
                      dataset=dict(data_root='data/bsds500-dev', split='test'))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False, begin=0, end=24000)]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=24000, val_interval=3000)
# as configs/_base_/schedules/warm-start.py (not a second base: it repeats the runtime this config already has)
default_hooks = dict(checkpoint=dict(interval=3000, save_best='fMSE', rule='less'))
randomness = dict(seed=1)
