# Table III "Raiha w/ reference (inconsistent illumination)": references whose best matching light is only
# 0.8 <= epsilon_a <= 0.9 (instead of >= 0.9). Build the reference list with it, then evaluate a trained Raiha:
#   python tools/build_raharmony4.py data/iHarmony4 --splits test --suffix illum-0.8-0.9 \
#       --config configs/retrieval/raiha-retrieval_dinov2-reg-b14-448_illum-0.8-0.9.py
#   python tools/benchmark.py CONFIG:CKPT --data-root data/iHarmony4 --references IHD_test_retrieved_illum-0.8-0.9.jsonl
_base_ = ['./raiha-retrieval_dinov2-reg-b14-448.py']
retriever = dict(illumination_threshold=0.8, illumination_max=0.9)
