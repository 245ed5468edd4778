"""Ship trained weights: export a checkpoint in the Hub layout (``model.safetensors``, ``config.py``, ``README.md``) and
upload it, or bundle a small model's weights with HarmonyZoo itself (``weights/<name>.safetensors``, float16 when that
changes no output by more than a rounding step)."""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Optional

import yaml

from .hub import check_state_dict, file_sha256, load_state_dict_file

#: what all bundled weights together may weigh (bytes): small enough to travel with the package
BUNDLE_BUDGET = 10 * 1000 * 1000

CARD_TEMPLATE = """---
library_name: harmonyzoo
license: {license}
tags:
  - image-harmonization
  - harmonyzoo
datasets:
  - {training_data}
---

# {name}

Image-harmonization model for [HarmonyZoo](https://github.com/) (config `config.py`, weights
`model.safetensors`: tensors only, loadable with `weights_only` safety).

```python
from toolkit.apis import Harmonizer
harmonizer = Harmonizer.from_pretrained('{name}')            # after adding the metafile entry below
out = harmonizer.harmonize('composite.jpg', 'mask.png')      # full resolution, background untouched
```

## Results

{results}

## Training data

{training_data}

## Licence

{license}

## Citation

{citation}
"""


def _results_markdown(results_json: Optional[str]) -> tuple[str, list]:
    if not results_json:
        return 'No evaluation attached (pass `--results` with a `tools/test.py --out` or leaderboard JSON).', []
    with open(results_json, encoding='utf-8') as handle:
        report = json.load(handle)
    if 'models' in report:  # a leaderboard.json: take the first model
        quality, profile = report['models'][0]['quality'], report['profile']
    else:  # a tools/test.py report
        quality, profile = report['model'], report['profile']
    names = ('MSE', 'fMSE', 'PSNR', 'fPSNR', 'SSIM', 'fSSIM')
    lines = ['| subset | N | ' + ' | '.join(names) + ' |', '|---|---:|' + '---:|' * len(names)]
    entries = []
    for subset, row in quality['subsets'].items():
        lines.append(f'| {subset} | {row["N"]} | ' + ' | '.join(f'{row[n]:.4f}' if 'SSIM' in n else f'{row[n]:.2f}'
                                                                for n in names) + ' |')
        entries.append({'Task': 'Image Harmonization', 'Subset': subset, 'Metric Profile': profile['name'],
                        'Metrics': {n: round(float(row[n]), 4) for n in names}})
    lines += ['', f'Metric profile `{profile["name"]}`: {profile["definition"]}']
    return '\n'.join(lines), entries


def export_for_hub(config: str, checkpoint: str, out_dir: str, name: Optional[str] = None,
                   results_json: Optional[str] = None, license: str = 'apache-2.0',
                   training_data: str = 'iHarmony4', citation: str = 'Please cite the method\'s paper.') -> dict:
    """Write ``model.safetensors``, ``config.py`` and ``README.md`` (model card) into ``out_dir``.

    The checkpoint's weights are checked strictly against the model the config builds.

    Returns:
        ``dict(name, folder, filename, sha256, size, results)`` for the metafile entry.
    """
    from safetensors.torch import save_file

    from toolkit.models import build_model_from_config
    name = name or osp.splitext(osp.basename(config))[0]
    model, cfg = build_model_from_config(config)
    state_dict = load_state_dict_file(checkpoint)  # .safetensors, or a .pth training checkpoint
    check_state_dict(model, state_dict, checkpoint)
    os.makedirs(out_dir, exist_ok=True)
    weights_path = osp.join(out_dir, 'model.safetensors')
    save_file({key: value.detach().contiguous() for key, value in state_dict.items()}, weights_path,
              metadata={'format': 'pt', 'harmonyzoo_model': name})
    cfg.dump(osp.join(out_dir, 'config.py'))  # inheritance resolved: one self-contained file
    results_md, results = _results_markdown(results_json)
    with open(osp.join(out_dir, 'README.md'), 'w', encoding='utf-8') as handle:
        handle.write(CARD_TEMPLATE.format(name=name, license=license, training_data=training_data,
                                          results=results_md, citation=citation))
    return dict(name=name, folder=out_dir, filename='model.safetensors', sha256=file_sha256(weights_path),
                size=osp.getsize(weights_path), results=results)


def _predictions(model, images: list) -> list:
    """Network outputs (0–255 float) on ``(composite, mask)`` pairs at 256×256, as the zoo models run."""
    import numpy as np
    import torch

    from toolkit.datasets.transforms.processing import resize_image, resize_mask
    outputs = []
    with torch.no_grad():
        for composite, mask in images:
            low = torch.from_numpy(resize_image(composite, (256, 256)).transpose(2, 0, 1).copy())[None]
            low_mask = torch.from_numpy((resize_mask(mask, (256, 256)) > 0.5).astype(np.float32))[None, None]
            data = model.data_preprocessor(dict(inputs=dict(composite=low, mask=low_mask), data_samples=None))
            outputs.append(model(**data, mode='predict')[0].pred_img.clamp(0, 255))
    return outputs


class BundleBudgetError(ValueError):
    """Bundling the weights would push the bundled weights past the budget (the message says by how much)."""


def bundle_weights(config: str, checkpoint: str, name: str, out_dir: str, check_pairs: list,
                   max_difference: float = 0.5, budget: Optional[int] = BUNDLE_BUDGET) -> dict:
    """Write ``<out_dir>/<name>.safetensors`` for the model index's bundled weights, within the bundle budget.

    The weights are stored as float16 when the model's outputs on ``check_pairs`` (``(composite, mask)`` arrays)
    move by at most ``max_difference`` levels of 0–255 (half a rounding step), else as float32. The file is
    written under a temporary name first: when the bundled weights (``out_dir``'s ``.safetensors``, the
    file it replaces not counted) would pass ``budget`` bytes it is removed and a previous version stays as it was.

    Returns:
        ``dict(file, sha256, size, dtype, max_difference, bundled_total)``: the metafile ``Weights`` entry, the
        evidence, and the bytes of all bundled weights afterwards.

    Raises:
        BundleBudgetError: over the budget.
    """
    from safetensors.torch import save_file

    from toolkit.models import build_model_from_config
    model, _ = build_model_from_config(config)
    state_dict = load_state_dict_file(checkpoint)
    check_state_dict(model, state_dict, checkpoint)
    model.load_state_dict(state_dict, strict=True)
    model.eval()
    reference = _predictions(model, check_pairs)
    half = {key: value.half() if value.is_floating_point() else value for key, value in state_dict.items()}
    model.load_state_dict(half, strict=True)  # copied into the float32 parameters, as loading the file does
    difference = max(float((a - b).abs().max()) for a, b in zip(reference, _predictions(model, check_pairs)))
    stored, dtype = (half, 'float16') if difference <= max_difference else (state_dict, 'float32')
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, f'{name}.safetensors')
    temporary = osp.join(out_dir, f'.{name}.partial')  # not a .safetensors file: not counted below
    # one metadata key: safetensors writes the metadata map in hash order, so several keys would make the bytes
    # (and the sha256 in the model index) differ from run to run
    save_file({key: value.detach().contiguous() for key, value in stored.items()}, temporary,
              metadata={'format': 'pt'})
    size = osp.getsize(temporary)
    others = bundled_size(out_dir) - (osp.getsize(path) if osp.isfile(path) else 0)
    if budget is not None and others + size > budget:
        os.remove(temporary)
        raise BundleBudgetError(f'bundled weights would weigh {others + size:,} bytes, over the {budget:,}-byte '
                                'budget; publish this model to the Hub instead (--repo)')
    os.replace(temporary, path)
    return dict(file=path, sha256=file_sha256(path), size=size, dtype=dtype, max_difference=difference,
                bundled_total=others + size)


def bundled_size(folder: str) -> int:
    """Bytes of every ``.safetensors`` file in the bundled-weights folder."""
    if not osp.isdir(folder):
        return 0
    return sum(osp.getsize(osp.join(folder, name)) for name in os.listdir(folder) if name.endswith('.safetensors'))


def upload(folder: str, repo_id: str, message: str = 'Upload HarmonyZoo model') -> str:
    """Create the repo if needed and upload the folder; returns the commit hash to pin in the metafile."""
    from huggingface_hub import HfApi
    api = HfApi()
    api.create_repo(repo_id, exist_ok=True)
    commit = api.upload_folder(folder_path=folder, repo_id=repo_id, commit_message=message)
    return commit.oid


def metafile_entry(export: dict, config: str, repo_id: str, revision: Optional[str],
                   collection: Optional[str] = None) -> str:
    """The YAML block to paste into ``configs/<method>/metafile.yml`` under ``Models:``."""
    entry = {'Name': export['name'], 'In Collection': collection or export['name'].split('_')[0],
             'Config': osp.relpath(config), 'Results': export['results'] or None,
             'Weights': {'repo_id': repo_id, 'revision': revision or '<commit hash printed by the upload>',
                         'filename': export['filename'], 'sha256': export['sha256'], 'size': export['size']}}
    return yaml.safe_dump([entry], sort_keys=False, allow_unicode=True)
