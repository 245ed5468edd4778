"""Ending a finished process without the interpreter's teardown.

Two entry points want it: the ``harmony`` console script (module teardown with torch and MMEngine loaded costs
~0.45 s of a ~2 s call and does nothing useful once the outputs are written) and the workers of a multi-process
run (gloo's threads occasionally abort the teardown after the process group is destroyed, turning a finished run
into a failed one). Both still run the exit handlers and flush the logs and streams first.
"""
from __future__ import annotations

import atexit
import logging
import os
import sys


def exit_without_teardown(code: int = 0) -> None:
    """Run the ``atexit`` handlers, shut logging down, flush stdout/stderr, then ``os._exit(code)``."""
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`harmony list | head`)
            pass
    os._exit(code)
