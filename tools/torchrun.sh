#!/usr/bin/env bash
# Run a HarmonyZoo tool in NPROC processes on one node with torchrun: tools/torchrun.sh NPROC SCRIPT [arguments]
# (what dist_train.sh and dist_test.sh call). NPROC GPUs with NCCL, or NPROC CPU processes with gloo when there is
# no CUDA (each process takes OMP_NUM_THREADS threads: default cores / NPROC). PYTHON, PORT, NNODES, NODE_RANK,
# MASTER_ADDR override.
set -euo pipefail
NPROC=$1
SCRIPT=$2
shift 2
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
    "$SCRIPT" "$@"
