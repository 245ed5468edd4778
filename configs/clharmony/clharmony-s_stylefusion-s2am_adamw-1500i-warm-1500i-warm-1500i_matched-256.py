# Stage 3 of the small region-wise contrastive network's chain (the faithful network: it outputs the image itself,
# external style fusion, the paper's loss 0.4 L1 + 0.5 L_pixel + 0.1 L_HCL): stage 2 ended with its dev fMSE still
# falling (1959.7, 1704.2, 1648.6 at 500/1,000/1,500), so the same stage again from stage 2's kept checkpoint (its
# best on the dev split, at 1,500), fresh cosine schedule, another sample order. Chosen only if the dev boards prefer
# it (tools/select_default.py).
# Stage 2's weights are not bundled (budget: docs/zoo.md), so load_from names the checkpoint that its config writes:
# train stage 2 first (its config: clharmony-s_stylefusion-s2am_adamw-1500i-warm-1500i_matched-256.py), or pass
# --cfg-options load_from=PATH (tools/gpu_zoo_training.sh does that).
# Reproduce:
#   python tools/train.py \
#       configs/clharmony/clharmony-s_stylefusion-s2am_adamw-1500i-warm-1500i-warm-1500i_matched-256.py
_base_ = ['./clharmony-s_stylefusion-s2am_adamw-1500i-warm-1500i_matched-256.py']
load_from = ('work_dirs/clharmony-s_stylefusion-s2am_adamw-1500i-warm-1500i_matched-256'
             '/best_fMSE_iter_1500.pth')
randomness = dict(seed=2)
