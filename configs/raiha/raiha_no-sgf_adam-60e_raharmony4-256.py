# Table III "Raiha w/o SGF": the attention of eq. 7 without the content features in its projections.
_base_ = ['./raiha_sgf_adam-60e_raharmony4-256.py']
model = dict(content_encoder=None)
