# Tiny Raiha on the bundled samples at 64x64 (CPU, seconds): ngf 4 and a 1-block random ViT (patch 14, input 112
# -> an 8x8 grid = the SGF level of a 64 input). References are augmented targets; half the iterations drop them.
_base_ = [
    '../_base_/models/raiha.py',
    '../_base_/datasets/samples-64.py',
    '../_base_/schedules/adam_raiha_60e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    generator=dict(ngf=4),
    content_encoder=dict(_delete_=True, type='DenseContentEncoder', input_size=112,
                         arch=dict(hidden_size=24, num_hidden_layers=1, num_attention_heads=2, patch_size=14,
                                   image_size=28)),
)
train_pipeline = [
    dict(type='SampleRaihaReference', use_retrieved=True, use_augmented=True),
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=64),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='MakeTargetReference'),
    dict(type='PackHarmonizationInputs'),
]
train_dataloader = dict(batch_size=2, sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = []
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=20, val_interval=20)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(by_epoch=False, interval=10, max_keep_ckpts=2))
log_processor = dict(by_epoch=False, window_size=5)
custom_hooks = [dict(type='HarmonizationVisualizationHook', max_images=6), dict(type='ContentEncoderRecordHook')]
