# Region-wise contrastive harmonization (Liang & Pun): ResUNet + S2AM at all four decoder levels + external style
# fusion, trained with 0.4 L1 + 0.5 L_pixel (foreground L1) + 0.1 L_HCL (K = 256, tau = 0.07), AdamW lr 1e-3,
# batch 8, 256x256 with random crop and flip, all four iHarmony4 subsets. 28,368,503 parameters.
_base_ = [
    '../_base_/models/clharmony.py',
    '../_base_/datasets/iharmony4-256.py',
    '../_base_/schedules/adamw_60e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=8)
