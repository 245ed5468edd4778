# Table III "Raiha trained w/o Retrieval": augmented targets are the only references, so plain iHarmony4
# training data suffices (no reference list needed).
_base_ = ['./raiha_sgf_adam-60e_raharmony4-256.py']
train_pipeline = {{_base_.train_pipeline}}
train_pipeline[0] = dict(type='SampleRaihaReference', use_retrieved=False, use_augmented=True)
train_dataloader = dict(dataset=dict(_delete_=True, type='IHarmony4Dataset', data_root={{_base_.data_root}},
                                     split='train', pipeline=train_pipeline))
