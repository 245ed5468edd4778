# Plain UNet harmonizer (no fusion) on iHarmony4: the toolkit's reference baseline. 10,376,515 parameters.
_base_ = [
    '../_base_/models/unet.py',
    '../_base_/datasets/iharmony4-256.py',
    '../_base_/schedules/adam_60e.py',
    '../_base_/default_runtime.py',
]
