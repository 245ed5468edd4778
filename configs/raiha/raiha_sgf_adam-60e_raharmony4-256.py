# Raiha as published: SGF with DINOv2-reg features, retrieved + augmented references, 50% non-reference iterations.
# 11,460,271 parameters (the frozen content encoder not counted).
_base_ = [
    '../_base_/models/raiha.py',
    '../_base_/datasets/raharmony4-256.py',
    '../_base_/schedules/adam_raiha_60e.py',
    '../_base_/default_runtime.py',
]
# every checkpoint records the content encoder (and its revision) its SGF was trained with
custom_hooks = [dict(type='HarmonizationVisualizationHook', max_images=8), dict(type='ContentEncoderRecordHook')]
