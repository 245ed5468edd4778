# The real dev set (`python tools/build_dev_set.py data/real-dev ...`, docs/datasets.md): iHarmony4 test triplets
# from published code's example folders, reserved triplets left out. Selection only: validate and choose
# recipes, checkpoints and the default on it (with a synthetic dev split such as `bsds500-dev`), never train on
# it and never redistribute it. data/samples and ../shared/data/triplets are evaluation data: scored once, at the
# end, never used to choose anything (docs/zoo.md, "Selection rules").
_base_ = ['./iharmony4-256.py']

data_root = 'data/real-dev'
val_dataloader = dict(batch_size=8, num_workers=2, persistent_workers=True,
                      dataset=dict(data_root=data_root, split='test'))
test_dataloader = val_dataloader
