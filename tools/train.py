"""Train a harmonizer from an MMEngine config (CUDA when available, else CPU).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options k=v ...]
    torchrun --nproc_per_node=N tools/train.py CONFIG --launcher pytorch
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from toolkit.engine.launch import add_common_arguments, end_worker_process, train  # noqa: E402
from toolkit.setup_env import register_all_modules  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train a HarmonyZoo model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or from the latest checkpoint in work-dir when given alone')
    parser.add_argument('--amp', action='store_true', help='mixed precision (CUDA only; ignored with a warning on CPU)')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the lr with the total batch size')
    add_common_arguments(parser)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)  # core modules, installed plugins, the hf:// scheme
    try:
        train(args.config, work_dir=args.work_dir, resume=args.resume, amp=args.amp, auto_scale_lr=args.auto_scale_lr,
              cfg_options=args.cfg_options, launcher=args.launcher)
    except (FileNotFoundError, RuntimeError, ValueError) as error:  # data and checkpoint errors name the file
        sys.exit(f'error: {error}')
    end_worker_process(0)


if __name__ == '__main__':
    main()
