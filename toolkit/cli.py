"""``harmony``: list, inspect and download zoo models, and harmonize your own composites.

    harmony list [PATTERN]
    harmony info NAME
    harmony download NAME
    harmony harmonize --model NAME IMAGE MASK -o OUT
    harmony harmonize --model NAME --images DIR --masks DIR -o OUT_DIR
"""
from __future__ import annotations

import glob
import os
import os.path as osp

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def _console() -> Console:
    return Console(width=None if Console().is_terminal else 150)


def _fail(error: Exception) -> None:
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    raise click.ClickException(' '.join(message.split()))


def _errors():
    from toolkit.datasets.io import HarmonizationDataError
    from toolkit.hub import HubError
    return (HarmonizationDataError, HubError, KeyError, FileNotFoundError, ValueError, OSError)


@click.group(context_settings=dict(help_option_names=['-h', '--help']))
def main():
    """HarmonyZoo: image-harmonization models, one command away."""


@main.command('list')
@click.argument('pattern', default='*')
def list_command(pattern):
    """List zoo models (shell-style PATTERN, e.g. '*rain*')."""
    from toolkit.zoo import is_cached, load_index
    models = load_index()
    names = sorted(name for name in models if __import__('fnmatch').fnmatch(name.lower(), pattern.lower()))
    table = Table(title=f'{len(names)} models', title_justify='left')
    for column in ('name', 'collection', 'weights', 'config'):
        table.add_column(column)
    for name in names:
        model = models[name]
        if model.weights is None:
            weights = 'none needed' if 'baselines' in model.config else 'not released'
        else:
            weights = 'cached' if is_cached(name) else 'download'
        table.add_row(name, model.collection or '', weights, osp.relpath(model.config))
    _console().print(table)


@main.command()
@click.argument('name')
def info(name):
    """Show a model's config, weights and published results."""
    from toolkit.zoo import get_model_info, is_cached
    try:
        model = get_model_info(name)
    except KeyError as error:
        _fail(error)
    console = _console()
    console.print(f'[bold]{model.name}[/bold]  ({model.collection or "no collection"})')
    console.print(f'config:  {osp.relpath(model.config)}')
    if model.paper:
        console.print(f'paper:   {model.paper.get("Title", "")} {model.paper.get("URL", "")}')
    if model.weights:
        weights = model.weights
        console.print(f'weights: {weights.uri}\n         sha256 {weights.sha256}  size {weights.size} bytes  '
                      f'{"(cached)" if is_cached(name) else "(not cached: harmony download " + name + ")"}')
    else:
        console.print('weights: none')
    for key, value in model.metadata.items():
        console.print(f'{key}: {value}')
    if model.results:
        table = Table(title='results', title_justify='left')
        for column in ('dataset', 'subset', 'profile', 'metrics'):
            table.add_column(column)
        for result in model.results:
            metrics = ', '.join(f'{k} {v}' for k, v in (result.get('Metrics') or {}).items())
            table.add_row(str(result.get('Dataset', '')), str(result.get('Subset', '')),
                          str(result.get('Metric Profile', '')), metrics)
        console.print(table)


@main.command()
@click.argument('name')
@click.option('--cache-dir', default=None, help='huggingface_hub cache (default HF_HUB_CACHE)')
def download(name, cache_dir):
    """Download (and verify) a model's weights into the cache."""
    from toolkit.zoo import download as download_model
    try:
        path = download_model(name, cache_dir=cache_dir)
    except _errors() as error:
        _fail(error)
    click.echo(f'{name}: no weights needed' if path is None else f'{name}: {path}')


def _output_path(out: str, image: str) -> str:
    return osp.join(out, osp.splitext(osp.basename(image))[0] + '.png')


@main.command()
@click.option('--model', '-m', required=True, help='zoo name (harmony list) or CONFIG.py[:CHECKPOINT]')
@click.argument('image', required=False)
@click.argument('mask', required=False)
@click.option('--images', type=click.Path(), help='folder of composites (folder mode)')
@click.option('--masks', type=click.Path(), help='folder of masks: <stem>.png or iHarmony4 <real>_<fg>.png')
@click.option('-o', '--output', required=True, help='output file (single) or folder (folder mode)')
@click.option('--device', default=None, help='cpu, cuda, cuda:1 (default: cuda when available)')
@click.option('--full-res/--no-full-res', default=True, show_default=True,
              help='carry the colour change to full resolution (else bilinear upsampling)')
def harmonize(model, image, mask, images, masks, output, device, full_res):
    """Harmonize IMAGE with MASK, or every composite in --images with its mask in --masks."""
    from toolkit.apis import Harmonizer
    from toolkit.apis.harmonizer import pair_masks, save_image
    folder_mode = images is not None or masks is not None
    if folder_mode == bool(image or mask):
        raise click.UsageError('give IMAGE and MASK, or --images and --masks (not both)')
    try:
        if folder_mode:
            if not (images and masks):
                raise click.UsageError('folder mode needs both --images and --masks')
            for folder in (images, masks):
                if not osp.isdir(folder):
                    raise FileNotFoundError(f'{folder}: folder does not exist')
            files = sorted(path for path in glob.glob(osp.join(images, '*')) if path.lower().endswith(IMAGE_EXTENSIONS))
            if not files:
                raise FileNotFoundError(f'{images}: no images')
            pairs = pair_masks(files, masks)
        else:
            if not (image and mask):
                raise click.UsageError('give both IMAGE and MASK')
            for path in (image, mask):
                if not osp.isfile(path):
                    raise FileNotFoundError(f'{path}: file does not exist')
            pairs = [(image, mask)]
        harmonizer = Harmonizer.from_pretrained(model, device=device)
        if not folder_mode:
            save_image(output, harmonizer.harmonize(image, mask, full_res=full_res))
            click.echo(f'wrote {output}')
            return
        os.makedirs(output, exist_ok=True)
        with Progress(TextColumn('harmonizing'), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
            task = bar.add_task('harmonizing', total=len(pairs))
            for image_path, mask_path in pairs:
                save_image(_output_path(output, image_path),
                           harmonizer.harmonize(image_path, mask_path, full_res=full_res))
                bar.advance(task)
        click.echo(f'wrote {len(pairs)} images to {output}')
    except click.UsageError:
        raise
    except _errors() as error:
        _fail(error)


if __name__ == '__main__':
    main()
