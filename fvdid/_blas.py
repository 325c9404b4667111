"""Run a block of code with OpenBLAS on one thread (best effort, no dependency).

Why. OpenBLAS splits even small level-2 / level-3 calls (the Householder QR of a 4,000 x 30
design, a 30 x 30 Gram matrix) over its threads. When another process keeps a core busy, as on a
2-core machine shared with a Monte Carlo study, each split call waits for a thread that is not
scheduled: on this project's machine a QR that takes 2 ms on one thread took 30-300 ms on two,
and the placebo-pair stage spent most of its time waiting. Code made of many small linear-algebra
calls is faster on one thread on any machine.

What. :func:`single_threaded_blas` sets every OpenBLAS loaded in the process (numpy's and
scipy's wheels each bundle one) to one thread and restores the previous counts on exit. The
libraries are found in ``/proc/self/maps`` and called through ``ctypes`` (the entry points
threadpoolctl uses); where that is not possible (no ``/proc``, another BLAS such as MKL or
Accelerate) the block runs unchanged. The numbers of a linear-algebra call can depend on the
thread count in the last bits (a reduction split differently). Code whose results are checked
to be the same to rounding either way runs inside it for speed; the multiple imputation runs
inside it for reproducibility: its predictive-mean matching turns last-bit differences into other
donors, so on a thread count that depends on the machine its numbers would too.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator

__all__ = ["single_threaded_blas"]

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")

_found: list[tuple[ctypes._CFuncPtr, ctypes._CFuncPtr]] | None = None


def _libraries() -> list[tuple[ctypes._CFuncPtr, ctypes._CFuncPtr]]:
    """(getter, setter) of every OpenBLAS mapped into the process (found once)."""
    global _found
    if _found is not None:
        return _found
    found: list[tuple[ctypes._CFuncPtr, ctypes._CFuncPtr]] = []
    try:
        import numpy  # noqa: F401  (numpy's and scipy's BLAS are loaded by their import)
        import scipy.linalg  # noqa: F401

        with open("/proc/self/maps") as fh:
            paths = sorted({line.split()[-1] for line in fh
                            if "openblas" in line.lower() and ".so" in line})
        for path in paths:
            lib = ctypes.CDLL(path)
            get = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
            put = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                found.append((get, put))
    except (OSError, ImportError):
        found = []
    _found = found
    return found


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Within the block OpenBLAS uses one thread; the previous thread counts come back after."""
    libs = _libraries()
    before = [int(get()) for get, _ in libs]
    try:
        for _, put in libs:
            put(1)
        yield
    finally:
        for (_, put), n in zip(libs, before):
            put(n)
