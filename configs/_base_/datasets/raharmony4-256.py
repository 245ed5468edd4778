# RAHarmony4 at 256x256: iHarmony4 images with retrieved reference lists (JSONL, see docs/raiha.md).
# Training: every example gets one reference, a retrieved one (from the JSONL) or the augmented target, 50/50;
# the model drops the references of half the iterations. Testing: one reference drawn per composite with a
# seed (run tools/benchmark.py --references ... --reference-runs 5 for the paper's mean +- std over 5 draws).
# Loaders, test pipeline and evaluator are iHarmony4's; the datasets and the training pipeline differ.
_base_ = ['./iharmony4-256.py']

train_references = 'IHD_train_all.jsonl'  # written by tools/build_raharmony4.py (the released name)
test_references = 'IHD_test_temp.jsonl'  # the released RAHarmony4 test list (2,248 composites)

train_pipeline = [
    dict(type='SampleRaihaReference', use_retrieved=True, use_augmented=True, retrieved_prob=0.5),
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=256),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='MakeTargetReference', crop_ratio=196 / 256, min_foreground=0.5, max_tries=5, flip_prob=0.5),
    dict(type='PackHarmonizationInputs'),
]
train_dataloader = dict(
    batch_size=48,
    num_workers=8,
    dataset=dict(_delete_=True, type='RAHarmony4Dataset', data_root={{_base_.data_root}},
                 ann_file=train_references, reference_choice='all', pipeline=train_pipeline),
)
val_dataloader = dict(
    dataset=dict(_delete_=True, type='RAHarmony4Dataset', data_root={{_base_.data_root}}, ann_file=test_references,
                 reference_choice='random', seed=0, pipeline={{_base_.test_pipeline}}),
)
test_dataloader = val_dataloader
