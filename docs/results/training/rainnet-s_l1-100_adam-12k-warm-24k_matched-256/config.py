auto_scale_lr = dict(base_batch_size=11, enable=False)
custom_hooks = [
    dict(max_images=8, type='HarmonizationVisualizationHook'),
]
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'plugins.baselines',
    ])
data_root = 'data/lalonde-efros'
dataset_type = 'IHarmony4Dataset'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False,
        interval=3000,
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
load_from = 'weights/rainnet-s_l1-100_adam-12k_lalonde-efros-256.safetensors'
log_level = 'INFO'
log_processor = dict(by_epoch=False, type='LogProcessor', window_size=50)
model = dict(
    blend_background=True,
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
    input_nc=3,
    losses=[
        dict(loss_weight=100.0, type='L1Loss'),
    ],
    ngf=6,
    output_nc=3,
    type='RainNet',
    use_dropout=True)
optim_wrapper = dict(
    optimizer=dict(betas=(
        0.5,
        0.999,
    ), lr=0.0001, type='Adam'),
    type='OptimWrapper')
param_scheduler = [
    dict(
        begin=0,
        by_epoch=False,
        end=24000,
        end_factor=0.0,
        start_factor=1.0,
        type='LinearLR'),
]
randomness = dict(seed=1)
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
train_cfg = dict(max_iters=24000, type='IterBasedTrainLoop', val_interval=3000)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        datasets=[
            dict(
                data_root='data/lalonde-efros-matched',
                pipeline=[
                    dict(type='LoadHarmonizationImages'),
                    dict(scale=256, type='Resize'),
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
                    dict(scale=256, type='Resize'),
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
    dict(scale=256, type='Resize'),
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
work_dir = 'work_dirs/rainnet-s_l1-100_adam-12k-warm-24k_matched-256'
