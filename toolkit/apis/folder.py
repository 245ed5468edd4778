"""Harmonizing a folder of composites: pairing each with its mask, naming the outputs, resuming, and going on
past a bad file when asked. The CLI (``harmony harmonize --images --masks``) draws the progress bar and prints;
this module decides what happens to every file, so a test or another front end gets the same behaviour.
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from toolkit.datasets.io import IMAGE_EXTENSIONS, HarmonizationDataError

from .harmonizer import check_output_folder, check_output_path, folder_outputs, mask_candidates, pair_masks

#: exceptions that stand for one bad file (the message names it), not for a broken run
FILE_ERRORS = (HarmonizationDataError, FileNotFoundError, ValueError, OSError, KeyError)


@dataclass
class FolderRun:
    """What a folder run did: images written, skipped (finished by an earlier run), and one message per failure."""
    written: int = 0
    skipped: int = 0
    failed: list = field(default_factory=list)

    def summary(self, output: str) -> str:
        text = f'wrote {self.written} images to {output}'
        if self.skipped:
            text += f', skipped {self.skipped} already there (--overwrite to redo them)'
        if self.failed:
            text += f', {len(self.failed)} failed'
        return text


def folder_pairs(images: str, masks: str, output: str) -> list[tuple[str, Optional[str]]]:
    """Every image file of ``images`` (sorted) with its mask in ``masks`` (``None`` when it has none).

    Raises:
        HarmonizationDataError: a missing folder, an output folder that is an input folder or a file, or no
            images at all.
    """
    for folder, option in ((images, '--images'), (masks, '--masks')):
        if not osp.isdir(folder):
            raise HarmonizationDataError(f'{folder}: {option} folder does not exist')
        if osp.realpath(folder) == osp.realpath(output):
            raise HarmonizationDataError(f'{output}: is the {option} folder; inputs are never overwritten, choose '
                                         'another output folder')
    if osp.exists(output) and not osp.isdir(output):
        raise HarmonizationDataError(f'{output}: exists and is not a folder (folder mode writes one file per image)')
    files = sorted(osp.join(images, name) for name in os.listdir(images)
                   if name.lower().endswith(IMAGE_EXTENSIONS) and osp.isfile(osp.join(images, name)))
    if not files:
        raise HarmonizationDataError(f'{images}: no images ({", ".join(IMAGE_EXTENSIONS)})')
    return pair_masks(files, masks)


def harmonize_folder(harmonizer, pairs: Sequence[tuple[str, Optional[str]]], masks: str, output: str,
                     full_res: Optional[bool] = None, overwrite: bool = False, skip_errors: bool = False,
                     references: Optional[Callable[[str, str], list]] = None,
                     report: Callable[[str, str], None] = lambda kind, message: print(message),
                     advance: Callable[[], None] = lambda: None) -> FolderRun:
    """Harmonize ``pairs`` into ``output``, one file each (:func:`~toolkit.apis.harmonizer.folder_outputs`).

    Finished outputs are kept unless ``overwrite`` (a rerun continues where an interrupted one stopped). A bad
    file stops the run with its error, or with ``skip_errors`` is reported (``report``) and the rest goes on.

    Args:
        references: ``(image, mask) → reference paths`` for a reference-based model (e.g. retrieved from a
            gallery); ``None`` runs without references.
        report: ``(kind, message)``: ``('note', …)`` for each renamed output, ``('failed', …)`` for each bad file
            skipped with ``skip_errors``.
        advance: called once per composite, done or not (a progress bar).

    Raises:
        HarmonizationDataError / OSError / ValueError: the first bad file, without ``skip_errors``.
    """
    check_output_folder(output)
    targets, notes = folder_outputs([image for image, _ in pairs], output)
    for note in notes:
        report('note', note)
    inputs = {osp.realpath(path) for pair in pairs for path in pair if path}
    run = FolderRun()
    for (image_path, mask_path), target in zip(pairs, targets):
        try:
            if osp.realpath(target) in inputs:
                raise HarmonizationDataError(f'{target}: would overwrite an input; choose another output folder')
            if osp.exists(target) and not overwrite:
                run.skipped += 1  # finished by an earlier run: resumable
                continue
            if mask_path is None:
                raise HarmonizationDataError(f'{image_path}: no mask in {masks} (looked for '
                                             f'{mask_candidates(image_path, masks)})')
            check_output_path(target, [image_path, mask_path], overwrite=True)
            used = references(image_path, mask_path) if references else None
            harmonizer.harmonize_file(image_path, mask_path, target, full_res=full_res, overwrite=True,
                                      references=used)
            run.written += 1
        except FILE_ERRORS as error:
            if not skip_errors:
                raise
            message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
            run.failed.append(message)
            report('failed', ' '.join(message.split()))
        finally:
            advance()
    return run
