custom_hooks = [
    dict(max_images=8, type='HarmonizationVisualizationHook'),
]
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'plugins.contrastive',
    ])
data_root = 'data/iHarmony4'
dataset_type = 'IHarmony4Dataset'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False,
        interval=500,
        max_keep_ckpts=1,
        rule='less',
        save_best='fMSE',
        save_last=True,
        type='CheckpointHook'),
    logger=dict(interval=50, type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'))
default_scope = 'toolkit'
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
launcher = 'none'
load_from = 'weights/clharmony-s_l1-pixel-rain_adamw-stylefusion-6k-warm-1500i-warm-1500i-warm-1500i_matched-256.safetensors'
log_level = 'INFO'
log_processor = dict(by_epoch=False, type='LogProcessor', window_size=50)
model = dict(
    backbone=dict(
        attention=dict(type='S2AM'),
        attention_levels=(
            0,
            1,
            2,
            3,
        ),
        base_channels=6,
        blocks=2,
        depth=5,
        in_channels=4,
        norm='BN',
        out_channels=3,
        type='ResUNet'),
    blend_background='predict',
    data_preprocessor=dict(
        mean=[
            127.5,
            127.5,
            127.5,
        ],
        std=[
            127.5,
            127.5,
            127.5,
        ],
        type='HarmonizationDataPreprocessor'),
    fusion=dict(type='RAIN'),
    losses=dict(
        hcl=None,
        l1=dict(loss_weight=0.4, type='L1Loss'),
        pixel=dict(loss_weight=0.5, type='ForegroundL1Loss'),
        ssim=dict(loss_weight=0.2, type='ForegroundSSIMLoss')),
    residual=False,
    type='EncoderDecoderHarmonizer')
optim_wrapper = dict(
    optimizer=dict(lr=0.0005, type='AdamW'), type='OptimWrapper')
param_scheduler = [
    dict(
        T_max=1500,
        begin=0,
        by_epoch=False,
        end=1500,
        eta_min=1e-05,
        type='CosineAnnealingLR'),
]
randomness = dict(seed=7)
resume = False
subsets = None
test_cfg = dict(type='TestLoop')
test_dataloader = dict(
    batch_size=8,
    dataset=dict(
        data_root='data/bsds500-dev',
        pipeline=[
            dict(type='LoadHarmonizationImages'),
            dict(scale=256, type='Resize'),
            dict(threshold=0.5, type='BinarizeMask'),
            dict(type='PackHarmonizationInputs'),
        ],
        split='test',
        subsets=None,
        type='IHarmony4Dataset'),
    drop_last=False,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = dict(profile='toolkit', type='HarmonizationMetric')
test_pipeline = [
    dict(type='LoadHarmonizationImages'),
    dict(scale=256, type='Resize'),
    dict(threshold=0.5, type='BinarizeMask'),
    dict(type='PackHarmonizationInputs'),
]
train_cfg = dict(max_iters=1500, type='IterBasedTrainLoop', val_interval=500)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        datasets=[
            dict(
                data_root='data/lalonde-efros-matched',
                pipeline=[
                    dict(type='LoadHarmonizationImages'),
                    dict(
                        scale=(
                            0.5,
                            1.0,
                        ), size=256, type='RandomResizedCrop'),
                    dict(prob=0.5, type='RandomFlip'),
                    dict(threshold=0.5, type='BinarizeMask'),
                    dict(type='PackHarmonizationInputs'),
                ],
                split='train',
                type='IHarmony4Dataset'),
            dict(
                data_root='data/bsds500',
                pipeline=[
                    dict(type='LoadHarmonizationImages'),
                    dict(
                        scale=(
                            0.5,
                            1.0,
                        ), size=256, type='RandomResizedCrop'),
                    dict(prob=0.5, type='RandomFlip'),
                    dict(threshold=0.5, type='BinarizeMask'),
                    dict(type='PackHarmonizationInputs'),
                ],
                split='train',
                type='IHarmony4Dataset'),
        ],
        ignore_keys=[
            'subsets',
        ],
        type='ConcatDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=True, type='InfiniteSampler'))
train_pipeline = [
    dict(type='LoadHarmonizationImages'),
    dict(scale=(
        0.5,
        1.0,
    ), size=256, type='RandomResizedCrop'),
    dict(prob=0.5, type='RandomFlip'),
    dict(threshold=0.5, type='BinarizeMask'),
    dict(type='PackHarmonizationInputs'),
]
val_cfg = dict(type='ValLoop')
val_dataloader = dict(
    batch_size=8,
    dataset=dict(
        data_root='data/bsds500-dev',
        pipeline=[
            dict(type='LoadHarmonizationImages'),
            dict(scale=256, type='Resize'),
            dict(threshold=0.5, type='BinarizeMask'),
            dict(type='PackHarmonizationInputs'),
        ],
        split='test',
        subsets=None,
        type='IHarmony4Dataset'),
    drop_last=False,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(profile='toolkit', type='HarmonizationMetric')
visualizer = dict(
    type='Visualizer', vis_backends=[
        dict(type='LocalVisBackend'),
    ])
work_dir = 'work_dirs/clharmony-s_l1-pixel-ssim-rain_adamw-stylefusion-6k-warm-1500i-warm-1500i-warm-1500i-warm-1500i_matched-256'
