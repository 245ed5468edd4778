#!/usr/bin/env bash
# Multi-process evaluation on one node with torchrun: tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py options]
# NPROC GPUs with NCCL, or NPROC CPU processes with gloo when there is no CUDA (each process takes
# OMP_NUM_THREADS threads: default cores / NPROC). PYTHON, PORT, NNODES, NODE_RANK, MASTER_ADDR override.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."
if [ -z "${OMP_NUM_THREADS:-}" ]; then
    OMP_NUM_THREADS=$(( $(nproc) / NPROC > 0 ? $(nproc) / NPROC : 1 ))
    export OMP_NUM_THREADS
fi
PYTHONPATH="$PWD:${PYTHONPATH:-}" "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    tools/test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
