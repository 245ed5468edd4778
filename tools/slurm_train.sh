#!/usr/bin/env bash
# Slurm training: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
# GPUS (total tasks), GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS and PYTHON override; DRY_RUN=1 prints the srun
# command it would run (resolved, one argument per line-continuation) and exits.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."
# shellcheck disable=SC2206  # SRUN_ARGS is a list of words on purpose
COMMAND=(srun -p "$PARTITION" --job-name="$JOB_NAME"
         --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE"
         --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 ${SRUN_ARGS}
         "$PYTHON" -u tools/train.py "$CONFIG" --work-dir="$WORK_DIR" --launcher slurm "$@")
if [ "${DRY_RUN:-0}" = "1" ]; then
    echo "PYTHONPATH=$PWD:${PYTHONPATH:-} \\"
    printf '    %q \\\n' "${COMMAND[@]:0:${#COMMAND[@]}-1}"
    printf '    %q\n' "${COMMAND[-1]}"
    exit 0
fi
PYTHONPATH="$PWD:${PYTHONPATH:-}" "${COMMAND[@]}"
