"""``harmony``: list, inspect and download zoo models, and harmonize your own composites.

    harmony list [PATTERN]
    harmony info NAME
    harmony download NAME
    harmony harmonize IMAGE MASK -o OUT [--model NAME]           (the zoo's default model when omitted)
    harmony harmonize --images DIR --masks DIR -o OUT_DIR [--skip-errors] [--overwrite]
    harmony compose CUTOUT.png BACKGROUND.jpg -o composite.png --mask-output mask.png [--x X --y Y --scale S]
    harmony app [--port 7860]                                   (a local page to compose, harmonize, compare)

Every error is one line on stderr and a non-zero exit status; no input file is ever written to.
Heavy modules (torch, MMEngine) are imported only by the commands that need them.
"""
from __future__ import annotations

import os.path as osp
import sys
from typing import Optional

import click

from toolkit.version import __version__


def _console():
    from rich.console import Console
    return Console(width=None if Console().is_terminal else 150)


def _fail(error: BaseException) -> None:
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    raise click.ClickException(' '.join(message.split()) or type(error).__name__)


def _errors() -> tuple:
    """Exceptions that carry a user-facing message (bad input, missing files, hub problems, devices)."""
    from toolkit.datasets.io import HarmonizationDataError
    from toolkit.hub import HubError
    return (HarmonizationDataError, HubError, KeyError, FileNotFoundError, ValueError, OSError)


def _is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    import torch
    if isinstance(error, torch.OutOfMemoryError):
        return True
    message = str(error).lower()
    # CUDA says "out of memory"; torch's CPU allocator "not enough memory"; Windows "insufficient memory"
    return any(words in message for words in ('out of memory', 'not enough memory', 'insufficient memory'))


@click.group(context_settings=dict(help_option_names=['-h', '--help'], max_content_width=110))
@click.version_option(__version__, '--version', '-V', prog_name='harmony', message='%(prog)s (HarmonyZoo) %(version)s')
def main():
    """HarmonyZoo: image-harmonization models, one command away."""


@main.command('list', short_help='List zoo models (PATTERN: shell-style, e.g. "*rain*").')
@click.argument('pattern', default='*')
@click.option('--names-only', is_flag=True, help='print only the names, one per line (for scripts)')
@click.option('--wide', is_flag=True, help='a table at whatever width the names need, even in a narrow terminal')
def list_command(pattern, names_only, wide):
    """List zoo models whose name matches PATTERN (shell-style, case-insensitive, e.g. '*rain*').

    The weights column says what `harmony harmonize --model NAME` needs: bundled (ships with HarmonyZoo),
    cached, download (fetched on first use), none needed (non-learned), superseded by a continued training stage
    whose weights replaced its own, withdrawn (published once, then taken out: `harmony info NAME` says why), or not
    released; a model the index
    marks with a `Use` (e.g. comparison only) says so there. Names are never shortened: piped output is plain
    tab-separated text, and a terminal too narrow for the table gets one block per model.
    """
    import fnmatch

    from toolkit.zoo import REPO_ROOT, default_model_name, load_index, superseded_by
    models = load_index()
    default = default_model_name(required=False)
    names = sorted(name for name in models if fnmatch.fnmatch(name.lower(), pattern.lower()))
    if names_only:
        click.echo('\n'.join(names))
        return
    rows = []
    for name in names:
        model = models[name]
        successor = superseded_by(name, models)  # a stage-1 model whose weights gave way to its continued stage
        weights = f'superseded by {successor}' if successor else model.weights_status
        weights += f' ({model.use})' if model.use else ''
        rows.append(('*' if name == default else '', name, model.collection or '', weights,
                     osp.relpath(model.config, REPO_ROOT)))
    header = ('default', 'name', 'collection', 'weights', 'config')
    if not sys.stdout.isatty() and not wide:  # piped: plain text that cut, grep and copy-paste take whole
        click.echo('\t'.join(header))
        for row in rows:
            click.echo('\t'.join(row))
        return
    from rich.table import Table
    console = _console()
    longest = max((len(name) for name in names), default=4)
    title = f'{len(names)} models (* = the default of harmony harmonize)'
    if not wide and console.width < longest + 60:  # too narrow for a table with whole names: one block per model
        console.print(title, highlight=False)
        for mark, name, collection, weights, config in rows:
            console.print(f'{mark or " "} [bold]{name}[/bold]', highlight=False, soft_wrap=True)
            console.print(f'    {collection} · {weights} · {config}', highlight=False, soft_wrap=True)
        return
    table = Table(title=title, title_justify='left')
    table.add_column('', no_wrap=True)
    table.add_column('name', no_wrap=True, min_width=longest)
    for column in header[2:]:
        table.add_column(column, overflow='fold')
    for row in rows:
        table.add_row(*row)
    if wide:
        console.width = max(console.width, longest + 2 + sum(max(len(row[i]) for row in rows or [header])
                                                              for i in (0, 2, 3, 4)) + 20)
    console.print(table)


@main.command(short_help='Show a model\'s config, weights and published results.')
@click.argument('name')
def info(name):
    """Show a model's config, weights (and whether they are here) and published results."""
    from rich.table import Table

    from toolkit.zoo import EnsembleWeights, default_model_name, get_model_info, superseded_by
    try:
        model = get_model_info(name)
    except KeyError as error:
        _fail(error)
    console = _console()
    default = ' (default model)' if name == default_model_name(required=False) else ''
    console.print(f'[bold]{model.name}[/bold]{default}  ({model.collection or "no collection"})')
    console.print(f'config:  {osp.relpath(model.config)}')
    if model.paper:
        console.print(f'paper:   {model.paper.get("Title", "")} {model.paper.get("URL", "")}')
    # markup off: "[bundled]" would be read as a Rich style tag and vanish
    if isinstance(model.weights, EnsembleWeights):  # its members' weights, each with its own card
        console.print(f'weights: {model.weights.uri}  [{model.weights_status}]', markup=False)
    elif model.weights:
        weights = model.weights
        console.print(f'weights: {weights.uri}  [{model.weights_status}]\n         sha256 {weights.sha256}  '
                      f'size {weights.size} bytes', markup=False)
    else:
        successor = superseded_by(name)
        console.print(f'weights: {model.weights_status}' + (f' (superseded by {successor})' if successor else ''))
    for key, value in model.metadata.items():
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            # e.g. the training chain: one line per stage
            console.print(f'{key}:', markup=False)
            for item in value:
                console.print('  - ' + '; '.join(f'{k}: {v}' for k, v in item.items()), markup=False)
        else:
            console.print(f'{key}: {value}', markup=False)
    if model.results:
        table = Table(title='results', title_justify='left')
        for column in ('dataset', 'subset', 'profile', 'metrics'):
            table.add_column(column)
        for result in model.results:
            metrics = ', '.join(f'{k} {v}' for k, v in (result.get('Metrics') or {}).items())
            table.add_row(str(result.get('Dataset', '')), str(result.get('Subset', '')),
                          str(result.get('Metric Profile', '')), metrics)
        console.print(table)


@main.command(short_help='Download and verify a model\'s weights into the cache.')
@click.argument('name')
@click.option('--cache-dir', default=None, help='huggingface_hub cache (default HF_HUB_CACHE)')
def download(name, cache_dir):
    """Make a model's weights available offline: bundled weights are verified, hub weights downloaded (or found in
    the cache) and verified, and so are the weights it loads besides its own (a content encoder). A model without
    released weights is an error, said before anything is fetched."""
    from toolkit.zoo import download as download_model
    from toolkit.zoo import download_auxiliary, get_model_info
    try:
        status = get_model_info(name).weights_status
        if status in ('withdrawn', 'not released'):  # said first: fetching a content encoder would be wasted
            from toolkit.zoo import weights_path
            weights_path(name)  # raises the zoo's "no weights have been released" error
        for what, path in download_auxiliary(name, cache_dir=cache_dir):
            click.echo(f'{name}: {what} verified: {path}')
        path = download_model(name, cache_dir=cache_dir)
    except _errors() as error:
        _fail(error)
    if path is None:
        click.echo(f'{name}: non-learned model, no weights needed')
    elif status == 'bundled':
        click.echo(f'{name}: bundled with HarmonyZoo, verified: {path}')
    else:
        click.echo(f'{name}: {"already cached" if status == "cached" else "downloaded"}, verified: {path}')


# ------------------------------------------------------------------------------------------- harmonize
def _retrieved(harmonizer, image: str, mask: str, retrieval: Optional[dict], echo=click.echo) -> list:
    """References retrieved for one composite (printed with their scores); ``[]`` without a gallery."""
    if retrieval is None:
        return []
    found = harmonizer.retrieve(image, mask, **retrieval)
    if not found:
        echo(f'{image}: no gallery image qualifies (content and illumination thresholds); harmonizing '
             'without a reference')
    for rank, ref in enumerate(found, 1):
        echo(f'{image}: reference {rank}: {ref.path} (content {ref.extra["content"]:.3f}, '
             f'illumination {ref.extra["illumination"]:.3f})')
    return [ref.path for ref in found]


def _harmonize_folder(harmonizer, pairs, masks, output, full_res, overwrite, skip_errors, retrieval=None):
    """:func:`toolkit.apis.folder.harmonize_folder` with a progress bar; failures print in red on their line."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from toolkit.apis.folder import harmonize_folder
    with Progress(TextColumn('harmonizing'), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=_console(), transient=True) as bar:
        task = bar.add_task('harmonizing', total=len(pairs))

        def echo(line):
            bar.console.print(line, highlight=False, markup=False)

        def report(kind, message):
            bar.console.print(('[red]failed[/red] ' if kind == 'failed' else '') + message.replace('[', r'\['),
                              highlight=False)

        run = harmonize_folder(harmonizer, pairs, masks, output, full_res, overwrite, skip_errors,
                               references=None if retrieval is None else
                               (lambda image, mask: _retrieved(harmonizer, image, mask, retrieval, echo=echo)),
                               report=report, advance=lambda: bar.advance(task))
    click.echo(run.summary(output))
    if run.failed:
        raise SystemExit(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a job scheduler, `kill`, a closed session) handled like Ctrl-C: the write in progress is
    abandoned and its temporary file removed, finished outputs stay."""


def _raise_terminated(signum, frame):
    raise Terminated()


def _warn_if_restricted(model: Optional[str]) -> None:
    """One line on stderr when the zoo marks the model for comparison only (worse than the input on the dev
    set): its pictures are for reproducing a table, not for use."""
    from toolkit.zoo import default_model_name, get_model_info, load_index
    if model is None or model not in load_index():
        return
    info = get_model_info(model)
    if info.comparison_only and info.weights is not None:  # without weights the one line is the zoo's error
        click.echo(f'warning: {model} is marked "{info.use}" in the model zoo (it makes composites worse than the '
                   f'input on average, docs/zoo.md); for real use omit -m to get {default_model_name()}', err=True)


@main.command(short_help='Harmonize IMAGE with MASK, or a folder of composites.')
@click.option('--model', '-m', default=None,
              help='zoo name (harmony list) or CONFIG.py:CHECKPOINT; default: the zoo\'s default model')
@click.argument('image', required=False)
@click.argument('mask', required=False)
@click.option('--images', type=click.Path(), help='folder of composites (folder mode)')
@click.option('--masks', type=click.Path(), help='folder of masks: <stem>.png or iHarmony4 <real>_<fg>.png')
@click.option('-o', '--output', required=True, help='output file (single image) or folder (folder mode)')
@click.option('--overwrite', is_flag=True, help='replace existing outputs (never inputs); folder mode redoes them')
@click.option('--skip-errors', is_flag=True,
              help='folder mode: report a bad file and go on with the rest (exit status 1 if any failed)')
@click.option('--device', default=None, help='cpu, cuda or cuda:N (default: cuda when available, else cpu)')
@click.option('--threads', type=click.IntRange(min=1), default=None,
              help='CPU threads (default: OMP_NUM_THREADS when set, else 1: the work is single-threaded '
                   'NumPy/OpenCV and a tiny network, and extra torch threads slow down on a busy machine)')
@click.option('--full-res/--no-full-res', default=True, show_default=True,
              help="carry the colour change onto the composite's own pixels, at any size (else upsample the "
                   "network output bilinearly; at the network's size, its output as is)")
@click.option('--alpha', type=click.Choice(['flatten', 'refuse']), default='flatten', show_default=True,
              help='RGBA composites with transparent pixels: composite them onto white, or refuse them')
@click.option('--strength', type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help='fraction of the model\'s change to apply: 1 all of it, 0 the composite unchanged (for an '
                   'object the model over-corrects)')
@click.option('--random-weights', is_flag=True,
              help='debugging only: run a learned model from its config with random weights')
@click.option('--reference', 'references', multiple=True, type=click.Path(),
              help='reference image for a reference-based model (Raiha); repeat for several')
@click.option('--gallery', type=click.Path(), help='retrieve references from this gallery (tools/build_gallery.py)')
@click.option('--num-references', default=1, show_default=True, help='with --gallery: references used per composite')
@click.option('--retrieval-config', default=None,
              help='with --gallery: the config the gallery was built with (default: the Raiha retrieval config)')
def harmonize(model, image, mask, images, masks, output, overwrite, skip_errors, device, threads, full_res, alpha,
              strength, random_weights, references, gallery, num_references, retrieval_config):
    """Harmonize IMAGE with MASK into -o OUT, or every composite in --images with its mask from --masks into the
    folder -o OUT_DIR.

    Reference-based models (Raiha) take --reference images, or retrieve --num-references from a --gallery (the
    references used and their scores are printed); without either they run in the non-reference setting.

    Outputs are written atomically; an existing output is kept unless --overwrite, so an interrupted folder run
    (Ctrl-C or SIGTERM) continues where it stopped when started again; temporary files that a killed run left
    are removed by the next run into the same folder.
    """
    folder_mode = images is not None or masks is not None
    if folder_mode and (image or mask):
        raise click.UsageError('give IMAGE and MASK, or --images and --masks (not both)')
    if folder_mode and not (images and masks):
        raise click.UsageError('folder mode needs both --images and --masks')
    if not folder_mode and not (image and mask):
        raise click.UsageError('give both IMAGE and MASK (or --images and --masks)')
    if skip_errors and not folder_mode:
        raise click.UsageError('--skip-errors is for folder mode')
    if references and gallery:
        raise click.UsageError('give --reference images or a --gallery to retrieve them from, not both')
    if references and folder_mode:
        raise click.UsageError('--reference is for one composite; in folder mode retrieve them with --gallery')
    import signal
    previous_handler = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        from toolkit.apis.harmonizer import Harmonizer, check_output_folder, check_output_path, remove_stale_partials
        from toolkit.apis.runtime import import_model_stack_for_inference, set_inference_threads
        if folder_mode:
            from toolkit.apis.folder import folder_pairs
            pairs = folder_pairs(images, masks, output)
            output_folder = output
        else:
            for path in (image, mask):
                if not osp.isfile(path):
                    raise FileNotFoundError(f'{path}: file does not exist')
            check_output_path(output, [image, mask], overwrite)
            output_folder = osp.dirname(output) or '.'
        for path in references:
            if not osp.isfile(path):
                raise FileNotFoundError(f'{path}: reference image does not exist')
        check_output_folder(output_folder)  # before the model runs: a folder we cannot write to is said now
        remove_stale_partials(output_folder)
        set_inference_threads(threads)
        import_model_stack_for_inference()
        _warn_if_restricted(model)
        harmonizer = Harmonizer.from_pretrained(model, device=device, random_weights=random_weights, alpha=alpha,
                                                strength=strength)
        if (references or gallery) and not harmonizer.uses_references:
            raise click.UsageError(f'{model or "the default model"} does not take references; choose a '
                                   'reference-based model (harmony list "raiha*") or drop --reference/--gallery')
        retrieval = None if gallery is None else dict(gallery=gallery, k=num_references,
                                                       retrieval_config=retrieval_config)
        if folder_mode:
            _harmonize_folder(harmonizer, pairs, masks, output, full_res, overwrite, skip_errors, retrieval)
        else:
            used = list(references) if references else _retrieved(harmonizer, image, mask, retrieval)
            harmonizer.harmonize_file(image, mask, output, full_res=full_res, overwrite=overwrite, references=used)
            click.echo(f'wrote {output}')
    except click.ClickException:
        raise
    except KeyboardInterrupt as interruption:
        what = 'terminated' if isinstance(interruption, Terminated) else 'interrupted'
        click.echo(f'{what}: finished outputs are complete; run the same command again to continue', err=True)
        sys.exit(143 if isinstance(interruption, Terminated) else 130)
    except Exception as error:  # noqa: BLE001  (every failure becomes one line, never a traceback)
        if _is_out_of_memory(error):
            _fail(RuntimeError(f'out of memory ({type(error).__name__}) while harmonizing '
                               f'{image or images}; try --device cpu, a smaller image, or close other programs'))
        if isinstance(error, _errors()):
            _fail(error)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


@main.command(short_help='Place a cut-out (PNG with alpha) on a background: composite + mask.')
@click.argument('cutout')
@click.argument('background')
@click.option('-o', '--output', required=True, help='the composite (e.g. composite.png)')
@click.option('--mask-output', required=True, help='its mask (e.g. mask.png): the cut-out\'s alpha, placed')
@click.option('--x', type=int, default=None,
              help='left edge of the scaled cut-out in background pixels (default: centred)')
@click.option('--y', type=int, default=None,
              help='top edge of the scaled cut-out in background pixels (default: centred)')
@click.option('--scale', type=float, default=1.0, show_default=True, help='size factor of the cut-out')
@click.option('--overwrite', is_flag=True, help='replace existing outputs (never inputs)')
def compose(cutout, background, output, mask_output, x, y, scale, overwrite):
    """Make a composite and its mask from a CUTOUT (an RGBA image whose alpha is the object) placed on a
    BACKGROUND photo; then `harmony harmonize COMPOSITE MASK -o OUT`. The page of `harmony app` makes its
    composites with the same code (toolkit/apis/compose.py)."""
    try:
        from toolkit.apis.compose import paste_cutout, read_cutout
        from toolkit.apis.harmonizer import check_output_folder, check_output_path, save_image
        from toolkit.datasets.io import read_image
        for path in (cutout, background):
            if not osp.isfile(path):
                raise FileNotFoundError(f'{path}: file does not exist')
        for path in (output, mask_output):
            check_output_path(path, [cutout, background], overwrite)
            check_output_folder(osp.dirname(path) or '.')
        if osp.realpath(output) == osp.realpath(mask_output):
            raise ValueError(f'{output}: the composite and the mask need two different files')
        composite, mask = paste_cutout(read_cutout(cutout), read_image(background, alpha='flatten'), x, y, scale,
                                       label=cutout)
        save_image(output, composite)
        save_image(mask_output, mask[..., None].repeat(3, axis=2))
    except _errors() as error:
        _fail(error)
    click.echo(f'wrote {output} and {mask_output} ({composite.shape[1]}×{composite.shape[0]}, '
               f'{int((mask > 127).sum())} foreground pixels)')


@main.command(short_help='A local page to compose, harmonize and compare models (127.0.0.1).')
@click.option('--port', type=int, default=7860, show_default=True, help='port (0: any free one)')
@click.option('--host', default='127.0.0.1', show_default=True,
              help='address to listen on; anything but 127.0.0.1/localhost makes the page reachable from other '
                   'machines')
@click.option('--device', default=None, help='cpu, cuda or cuda:N (default: cuda when available, else cpu)')
@click.option('--threads', type=click.IntRange(min=1), default=None, help='CPU threads (as harmony harmonize)')
@click.option('--max-upload-mb', type=click.IntRange(min=1), default=64, show_default=True,
              help='largest request accepted (all files of one request)')
@click.option('--work-dir', default=None, help='keep job files here (default: a temporary folder, removed on exit)')
def app(port, host, device, threads, max_upload_mb, work_dir):
    """Serve the comparison page: compose (cut-out + background) or upload (composite + mask) or pick a bundled
    sample, run any runnable zoo models at full resolution, compare them side by side and download the results.
    Works offline; stop with Ctrl-C."""
    try:
        from toolkit.app.server import make_server
        from toolkit.device import resolve_device
        server = make_server(host, port, device=resolve_device(device), threads=threads,
                             max_upload_bytes=max_upload_mb << 20, work_root=work_dir)
    except _errors() as error:
        _fail(error)
    bound_host, bound_port = server.server_address[:2]
    if host not in ('127.0.0.1', 'localhost', '::1'):
        click.echo(f'warning: listening on {host}: other machines can reach this page', err=True)
    click.echo(f'HarmonyZoo page: http://{"127.0.0.1" if host in ("0.0.0.0", "") else bound_host}:{bound_port}/ '
               '(Ctrl-C to stop)', err=False)
    sys.stdout.flush()
    import signal
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.app.close()
        click.echo('stopped; temporary files removed')


def entry_point() -> None:
    """The ``harmony`` console script: run the CLI, then end the process without tearing its modules down.

    Interpreter shutdown garbage-collects every module, which with torch and MMEngine loaded costs ~0.45 s
    of a ~2 s ``harmony harmonize`` call and does nothing useful: outputs are written and closed by then
    (:func:`toolkit.process.exit_without_teardown` still runs the exit handlers and flushes).
    """
    from toolkit.process import exit_without_teardown
    try:
        main()
        code = 0
    except SystemExit as exit_request:
        code = exit_request.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    exit_without_teardown(code or 0)


if __name__ == '__main__':
    entry_point()
