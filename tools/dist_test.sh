#!/usr/bin/env bash
# Multi-process evaluation on one node with torchrun: tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py options]
# NPROC GPUs with NCCL, or NPROC CPU processes with gloo when there is no CUDA (see tools/torchrun.sh).
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec bash "$(dirname "$0")/torchrun.sh" "$NPROC" tools/test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
