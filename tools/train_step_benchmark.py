"""Training-step time of a config (synthetic batch) and the share of one loss term.

    python tools/train_step_benchmark.py CONFIG [--batch-size 8] [--resolution 256] [--steps 3]
        [--device cpu|cuda] [--amp] [--loss loss_hcl]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

import torch  # noqa: E402

from toolkit.benchmark.train_step import loss_share, time_loss_term, time_train_step  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--resolution', type=int, default=256)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--loss', help='loss_name whose share of the step to measure (by difference)')
    args = parser.parse_args()
    kwargs = dict(batch_size=args.batch_size, resolution=args.resolution, device=args.device, steps=args.steps,
                  warmup=args.warmup, amp=args.amp)
    header = (f'{os.path.basename(args.config)}: batch {args.batch_size} @ {args.resolution}px on {args.device} '
              f'({torch.get_num_threads()} threads){" AMP" if args.amp else ""}')
    if args.loss:
        result = loss_share(args.config, args.loss, **kwargs)
        print(f'{header}\n  step with {args.loss}: {result["with_loss"]["mean_s"]:.3f} ± '
              f'{result["with_loss"]["std_s"]:.3f} s\n  step without: {result["without_loss"]["mean_s"]:.3f} ± '
              f'{result["without_loss"]["std_s"]:.3f} s\n  share of {args.loss} by difference: '
              f'{100 * result["share"]:.1f}%')
        direct = time_loss_term(args.config, args.loss, batch_size=args.batch_size, resolution=args.resolution,
                                device=args.device)
        print(f'  {args.loss} alone, forward + backward: {1e3 * direct["mean_s"]:.1f} ± {1e3 * direct["std_s"]:.1f} ms '
              f'= {100 * direct["mean_s"] / result["with_loss"]["mean_s"]:.2f}% of the step')
    else:
        result = time_train_step(args.config, **kwargs)
        print(f'{header}\n  step: {result["mean_s"]:.3f} ± {result["std_s"]:.3f} s')


if __name__ == '__main__':
    main()
