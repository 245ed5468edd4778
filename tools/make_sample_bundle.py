"""Rebuild ``data/samples/`` (the bundled iHarmony4-layout sample set) from ``../shared/data``.

Usage: python tools/make_sample_bundle.py [--shared ../shared/data] [--out data/samples]

Files are copied byte for byte, except the HAdobe5k a0002 triplet (2832x4256, 5 MB),
which is downscaled to 1024 px on its long side (area interpolation, JPEG quality 95;
the mask re-thresholded at 127) to keep the repository small. Training and test
lists are the same six composites: this is smoke-test data, not a benchmark.
"""
import argparse
import os
import os.path as osp
import shutil

import cv2
import numpy as np

SUBSETS = {
    # subset name in the bundle: (folder under triplets/, downscale long side or None)
    'HAdobe5k': ('iharmony4_repo', 1024),
    'RainNet': ('rainnet', None),
    'INR': ('inr_harmonization', None),
}


def _downscale(src: str, dst: str, long_side: int, is_mask: bool) -> None:
    image = cv2.imread(src, cv2.IMREAD_UNCHANGED)
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    size = (round(width * scale), round(height * scale))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if is_mask:
        resized = np.where(resized > 127, 255, 0).astype(np.uint8)
        cv2.imwrite(dst, resized)
    else:
        cv2.imwrite(dst, resized, [cv2.IMWRITE_JPEG_QUALITY, 95])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shared', default=osp.join(osp.dirname(__file__), '..', '..', 'shared', 'data'))
    parser.add_argument('--out', default=osp.join(osp.dirname(__file__), '..', 'data', 'samples'))
    args = parser.parse_args()
    ihd_lines = []
    os.makedirs(osp.join(args.out, 'LICENSES'), exist_ok=True)
    for subset, (folder, long_side) in SUBSETS.items():
        src_root = osp.join(args.shared, 'triplets', folder)
        names = []
        with open(osp.join(src_root, f'{folder}_test.txt')) as handle:
            composites = [line.strip() for line in handle if line.strip()]
        for kind in ('composite_images', 'masks', 'real_images'):
            os.makedirs(osp.join(args.out, subset, kind), exist_ok=True)
            for name in sorted(os.listdir(osp.join(src_root, kind))):
                src, dst = osp.join(src_root, kind, name), osp.join(args.out, subset, kind, name)
                if long_side:
                    _downscale(src, dst, long_side, is_mask=(kind == 'masks'))
                else:
                    shutil.copyfile(src, dst)
        for licence in sorted(os.listdir(src_root)):
            if licence.startswith('LICENSE'):
                shutil.copyfile(osp.join(src_root, licence), osp.join(args.out, 'LICENSES', licence))
        names = [osp.basename(line) for line in composites]
        for split in ('train', 'test'):
            with open(osp.join(args.out, subset, f'{subset}_{split}.txt'), 'w') as handle:
                handle.write(''.join(f'{name}\n' for name in names))
        ihd_lines += [f'{subset}/composite_images/{name}' for name in names]
    for split in ('train', 'test'):
        with open(osp.join(args.out, f'IHD_{split}.txt'), 'w') as handle:
            handle.write(''.join(f'{line}\n' for line in ihd_lines))
    print(f'wrote {len(ihd_lines)} composites to {args.out}')


if __name__ == '__main__':
    main()
