# Table III "Raiha trained w/o Augmentation": retrieved references only (composites without any get none).
_base_ = ['./raiha_sgf_adam-60e_raharmony4-256.py']
train_pipeline = {{_base_.train_pipeline}}
train_pipeline[0] = dict(type='SampleRaihaReference', use_retrieved=True, use_augmented=False)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
