#!/usr/bin/env bash
# The zoo's training chains on a GPU in one prepared run: for each family, stage 1 from scratch, then each later stage
# warm-started from the previous one's checkpoint (stage 1's last; a later stage's best on the dev split, as the
# bundled weights of the CPU chain were kept) — the same configs and iteration counts as the CPU chain
# (docs/zoo.md "Training chains") — then the one-stage runs (the CL-s residual deviation), with AMP, more data
# workers, and a curve per run, into work_dirs/gpu/.
# Estimated under 8 minutes in all on one H100/H200-class GPU (the small families' steps are a few ms; data loading
# bounds them): an estimate, made before the CL chain's stages 3 and 4 were added, until the first run replaces it
# with what it measures; docs name the GPU that ran it.
#
#   bash tools/gpu_zoo_training.sh             # needs CUDA and the built datasets (below)
#   bash tools/gpu_zoo_training.sh --dry-run   # print the commands only
#
# Data (git-ignored, built by tools/build_dataset.py; copy or build them on the GPU machine first):
# data/lalonde-efros (stage 1), data/lalonde-efros-matched + data/bsds500 (stage 2), data/bsds500-dev (dev split).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
WORKERS=${WORKERS:-8}
DRY_RUN=0
[[ "${1:-}" == "--dry-run" ]] && DRY_RUN=1

# the stages' configs in order (a later stage's load_from is replaced by the previous stage's checkpoint of this run)
CHAINS=(
  "configs/colorcurves/colorcurves_adam-6k_lalonde-efros-256.py configs/colorcurves/colorcurves_adam-6k-warm-3k_matched-256.py configs/colorcurves/colorcurves_adam-6k-warm-3k-warm-3k_matched-256.py"
  "configs/unet/unet-s_adam-3k_lalonde-efros-256.py configs/unet/unet-s_adam-3k-warm-3k_matched-256.py"
  "configs/rainnet/rainnet-s_l1-100_adam-12k_lalonde-efros-256.py configs/rainnet/rainnet-s_l1-100_adam-12k-warm-24k_matched-256.py"
  "configs/clharmony/clharmony-s_stylefusion-s2am_adamw-1500i_lalonde-efros-256.py configs/clharmony/clharmony-s_stylefusion-s2am_adamw-1500i-warm-1500i_matched-256.py configs/clharmony/clharmony-s_l1-pixel-stylefusion_adamw-1500i-warm-1500i-warm-1500i_matched-256.py configs/clharmony/clharmony-s_l1-pixel-stylefusion_adamw-1500i-warm-1500i-warm-1500i-warm-1500i_matched-256.py"
)

# one-stage runs from scratch (the CL-s residual-output deviation: docs/clharmony.md)
SINGLES=(
  configs/clharmony/clharmony-s-residual_l1-pixel-stylefusion_adamw-1500i_matched-256.py
  configs/clharmony/clharmony-s-residual_l1-pixel-rain_adamw-1500i_matched-256.py
  configs/clharmony/clharmony-s-residual_l1-pixel-adain_adamw-1500i_matched-256.py
)

run() {
  echo "+ $*"
  if [[ $DRY_RUN == 0 ]]; then "$@"; fi
}

curve() {  # the newest run's scalars of a work dir → curve.png beside it
  [[ $DRY_RUN == 1 ]] && return 0
  local scalars
  scalars=$(ls -t "$1"/*/vis_data/scalars.json | head -1)
  run "$PYTHON" tools/plot_training.py "$scalars" -o "$1/curve.png" --title "$(basename "$1") (GPU)"
}

if [[ $DRY_RUN == 0 ]]; then
  "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else "error: no CUDA device here")'
  for root in data/lalonde-efros data/lalonde-efros-matched data/bsds500 data/bsds500-dev; do
    [[ -f $root/IHD_test.txt ]] || { echo "error: $root: dataset missing (tools/build_dataset.py)"; exit 2; }
  done
  "$PYTHON" -c 'import torch; print("GPU:", torch.cuda.get_device_name(0))' | tee work_dirs/gpu_name.txt
fi
for chain in "${CHAINS[@]}"; do
  read -r -a stages <<<"$chain"
  previous=""
  for index in "${!stages[@]}"; do
    config=${stages[$index]}
    dir=work_dirs/gpu/$(basename "$config" .py)
    options=("train_dataloader.num_workers=$WORKERS")
    if [[ -n $previous ]]; then
      if (( index == 1 )); then  # stage 1: MMEngine's work_dir/last_checkpoint names its last checkpoint
        start="$previous/iter_N.pth"
        [[ $DRY_RUN == 0 ]] && start=$(cat "$previous/last_checkpoint")
      else  # a warm-start stage keeps its best dev checkpoint (configs/_base_/schedules/warm-start.py)
        start="$previous/best_fMSE_iter_N.pth"
        [[ $DRY_RUN == 0 ]] && start=$(ls "$previous"/best_fMSE_iter_*.pth | head -1)
      fi
      options+=("load_from=$start")
    fi
    run "$PYTHON" tools/train.py "$config" --amp --work-dir "$dir" --cfg-options "${options[@]}"
    curve "$dir"
    previous=$dir
  done
done
for config in "${SINGLES[@]}"; do
  dir=work_dirs/gpu/$(basename "$config" .py)
  run "$PYTHON" tools/train.py "$config" --amp --work-dir "$dir" --cfg-options "train_dataloader.num_workers=$WORKERS"
  curve "$dir"
done
