# The matched training distribution (docs/synthetic.md "A training distribution that matches the job"): the Lalonde &
# Efros photos with the matched perturbations (`python tools/build_dataset.py lalonde-efros-matched
# data/lalonde-efros-matched`) and the BSDS500 train/test photos with their human object segments
# (`python tools/build_dataset.py bsds500 data/bsds500 --source BSDS500_CLONE`): 4,140 + 1,436 training composites,
# about a sixth unchanged (composite = real), a sixth mild, strong shifts on small objects.
# Validation (the curves, and the checkpoint kept) is on the synthetic dev split `bsds500-dev` (BSDS500's val photos,
# in no training set). The real dev set (real-dev-256.py) and the dev leaderboards choose between runs and the default
# (docs/zoo.md "Selection rules"); data/samples and ../shared/data/triplets are scored once, at the end.
_base_ = ['./iharmony4-256.py']

train_pipeline = {{_base_.train_pipeline}}  # the papers' random crop (50-100 %) at 256 and flip
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_delete_=True, type='ConcatDataset', ignore_keys=['subsets'], datasets=[
        dict(type='IHarmony4Dataset', data_root='data/lalonde-efros-matched', split='train', pipeline=train_pipeline),
        dict(type='IHarmony4Dataset', data_root='data/bsds500', split='train', pipeline=train_pipeline),
    ]))
val_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=True,
                      dataset=dict(data_root='data/bsds500-dev', split='test'))
test_dataloader = val_dataloader
