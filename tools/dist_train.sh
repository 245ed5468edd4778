#!/usr/bin/env bash
# Multi-process training on one node with torchrun: tools/dist_train.sh CONFIG NPROC [train.py options]
# NPROC GPUs with NCCL, or NPROC CPU processes with gloo when there is no CUDA (see tools/torchrun.sh).
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
exec bash "$(dirname "$0")/torchrun.sh" "$NPROC" tools/train.py "$CONFIG" --launcher pytorch "$@"
