"""Child processes that do not outlive their parent: an indexing run's
writers (:mod:`clipsearch.writing.build`) and a server's workers
(:mod:`clipsearch.serve.app`)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """In a child of ``parent_pid``: be sent ``sig`` when the parent dies
    (Linux; elsewhere nothing), and exit at once if it has died already."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)
