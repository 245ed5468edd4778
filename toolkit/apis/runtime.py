"""The inference runtime: how many CPU threads it uses, and which modules it imports.

**Threads.** torch's default is one intra-op thread per core, with OpenMP workers that spin while they wait. On a
machine where other jobs hold the cores (a shared workstation, a CI box, a second `harmony` run) those workers wait
for each other: a 10-image full-resolution folder run took 57.5 s with the default threads and 6.7 s with one
thread beside one other CPU-bound job. What inference spends its time on does not need them: the network runs
at 256×256 (milliseconds for the zoo's models) and the full-resolution step is single-threaded NumPy/OpenCV.
So inference uses **one thread** unless told otherwise: ``--threads N`` (or ``threads=N``), else
``OMP_NUM_THREADS`` when it is set.

**Imports.** Importing any MMEngine model class imports ``mmengine.optim``, which imports two optional extras
that only training can use: ZeRO (``torch.distributed.optim``, which pulls in torch's distributed tensors and
sympy) and transformers' Adafactor. Together they are ~1.2 s of a 256×256 ``harmony harmonize`` call that
takes ~2.5 s. MMEngine already treats both as optional (``try: … except ImportError``), so
:func:`import_model_stack_for_inference` imports the model stack while they are hidden, then un-hides them
(transformers still imports normally afterwards, e.g. for Raiha's content encoder); the only effect is that
this process's optimizer registry lacks those two optimizers, which inference never builds.
"""
from __future__ import annotations

import os
import sys
from typing import Optional

#: the variable users already set to bound a process's threads; respected when no explicit count is given
THREADS_ENV = 'OMP_NUM_THREADS'


def inference_threads(requested: Optional[int] = None) -> int:
    """The thread count to use: ``requested``, else ``OMP_NUM_THREADS``, else 1.

    Raises:
        ValueError: a count below 1, or an ``OMP_NUM_THREADS`` that is not a positive whole number.

    Example:
        >>> inference_threads(3)
        3
    """
    if requested is not None:
        if int(requested) < 1:
            raise ValueError(f'--threads must be at least 1; got {requested}')
        return int(requested)
    value = os.environ.get(THREADS_ENV, '').strip()
    if not value:
        return 1
    try:
        count = int(value.split(',')[0])
    except ValueError:
        raise ValueError(f'{THREADS_ENV}={value!r} is not a whole number of threads') from None
    if count < 1:
        raise ValueError(f'{THREADS_ENV}={value!r}: the thread count must be at least 1')
    return count


def set_inference_threads(requested: Optional[int] = None) -> int:
    """Set torch's and OpenCV's thread counts for inference (see the module doc); returns the count used."""
    import cv2
    import torch
    count = inference_threads(requested)
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    cv2.setNumThreads(count)
    return count


#: optional imports of ``mmengine.optim`` that inference never uses (see the module doc)
TRAINING_ONLY_MODULES = ('torch.distributed.optim', 'transformers')


def import_model_stack_for_inference() -> None:
    """Import MMEngine's and MMCV's model modules without their training-only extras (see the module doc).

    A no-op when the model stack is already imported (e.g. in a training process, which keeps everything).
    """
    if 'mmengine.model' in sys.modules:
        return
    hidden = [name for name in TRAINING_ONLY_MODULES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # `import name` raises ImportError, which MMEngine catches
    try:
        import mmcv.cnn  # noqa: F401
        import mmengine.model  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
