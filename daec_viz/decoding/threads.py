"""Running a compiled per-map kernel over many maps on every core.

Each decoder's kernel is a plain ``numba.njit(nogil=True)`` loop over a block of maps
``(M, H, W)`` that writes its outputs for those maps; :func:`over_maps` cuts the M maps
into one contiguous block per thread and runs the blocks concurrently (the kernels
release the GIL). Why not numba's ``parallel=True``/``prange``: those kernels took two to
three times longer to compile (measured with ``benchmarks/bench_compile.py``, e.g. DARK
4.6 s against 1.3 s of CPU per dtype), and with eight decoders in two dtypes that compile
time dominated every cold start (the app's first page, the test suite, a fresh install)
while the decoding speed is the same.

The thread count follows numba's (``NUMBA_NUM_THREADS``, :func:`numba.set_num_threads`).

Examples
--------
>>> import numpy as np
>>> out = np.zeros(10)
>>> def fill(start, stop):
...     out[start:stop] = np.arange(start, stop)
>>> over_maps(10, fill)
>>> out.tolist() == list(range(10))
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba as nb
import numpy as np

__all__ = ["over_maps", "run_kernel", "MIN_MAPS_PER_THREAD"]

# Below this many maps per thread, starting threads costs more than it saves (a map
# takes 0.1-2 µs to decode, a thread hand-off some 20-50 µs).
MIN_MAPS_PER_THREAD = 256

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_PREFIX = "daec-viz-decode"


def _pool(threads: int) -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < threads:  # noqa: SLF001 - own pool
            _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=_PREFIX)
        return _POOL


def over_maps(num_maps: int, run: Callable[[int, int], None],
              threads: int | None = None) -> None:
    """Call ``run(start, stop)`` on blocks covering ``range(num_maps)``, concurrently.

    Parameters
    ----------
    num_maps : M, the number of maps.
    run : decodes maps ``[start, stop)`` (it must only write those maps' outputs).
    threads : at most this many threads (default numba's thread count); fewer when the
        maps are few. Calls from inside a block run inline (no nested pools).
    """
    if num_maps <= 0:
        return
    t = nb.get_num_threads() if threads is None else max(1, int(threads))
    t = min(t, max(1, num_maps // MIN_MAPS_PER_THREAD))
    if t <= 1 or threading.current_thread().name.startswith(_PREFIX):
        run(0, num_maps)
        return
    bounds = [num_maps * j // t for j in range(t + 1)]
    pool = _pool(t)
    futures = [pool.submit(run, a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
               if b > a]
    for f in futures:
        f.result()


def run_kernel(kernel: Callable[..., None], maps: np.ndarray, shared: tuple[Any, ...],
               coords: np.ndarray, scores: np.ndarray, valid: np.ndarray) -> None:
    """``kernel(maps, *shared, coords, scores, valid)`` over blocks of maps, concurrently.

    The decoders' common calling form: maps (M, H, W), outputs coords (M, 2), scores (M,),
    valid (M,), each block writing only its own rows.
    """
    def block(a: int, b: int) -> None:
        kernel(maps[a:b], *shared, coords[a:b], scores[a:b], valid[a:b])

    over_maps(maps.shape[0], block)
