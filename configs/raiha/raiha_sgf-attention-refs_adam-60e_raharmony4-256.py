# The other reading of how references enter Raiha: encoded separately and used only as extra keys/values of
# SGF (eq. 7), so the decoder's normalisation statistics are the composite's own. docs/raiha.md compares them.
_base_ = ['./raiha_sgf_adam-60e_raharmony4-256.py']
model = dict(generator=dict(reference_mode='attention'))
