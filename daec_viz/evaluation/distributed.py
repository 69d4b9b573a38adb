"""Sweeps decoded on a Dask cluster (``dask.distributed``): many models, one cluster.

:func:`cluster_decoder` is the decoding step of :func:`~daec_viz.evaluation.sweep.run_sweep`
run on Dask workers: the client cuts the dataset's instances into chunks of rows and
submits one task per chunk; each worker opens the cache itself, from the same path the
client uses (so the dataset folder must be on a file system the workers see at that
path), reads its rows slice by slice, decodes them with every configuration
(:func:`~daec_viz.evaluation.predict.decode_slice`, one read of each slice) and returns
only the keypoints: (C, m, K, 2) float64 heatmap px (x right, y down, pixel centres at
integers) and the (O, m, K) maxima. The client writes them into the sweep's
:class:`~daec_viz.evaluation.sweep.KeypointStore` and scores every configuration itself,
so the table is the single-process sweep's, number for number
(``tests/test_distributed.py``), and is cached under the same key.

Needs the ``dask`` extra (``pip install "daec-viz[dask]"``). The scheduler's address is
``--scheduler ADDRESS`` on the command line or ``$DAEC_VIZ_SCHEDULER``
(:func:`scheduler_address`). Dask ships tasks and results between the machines with its
own protocol (pickle inside): run the scheduler and workers on a network you trust.

Example
-------
>>> from distributed import Client                                    # doctest: +SKIP
>>> client = Client("tcp://10.0.0.5:8786")                            # doctest: +SKIP
>>> df = run_sweep(load_dataset("/shared/run1"), decoder=cluster_decoder(client))
...                                                                   # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from daec_viz.decoding import DecoderConfig
from daec_viz.evaluation.predict import DecodePlan, decode_slice, plan_decoding
from daec_viz.exceptions import DaecVizError, InputError, ModelNotInstalledError

#: Environment variable holding the scheduler's address when ``--scheduler`` is not given.
SCHEDULER_ENV = "DAEC_VIZ_SCHEDULER"
#: Bytes of keypoints one task returns at most (it sets the rows per task).
TASK_BYTES = 64 * 2 ** 20

__all__ = ["SCHEDULER_ENV", "scheduler_address", "connect", "cluster_decoder",
           "decode_rows", "chunk_rows"]


def scheduler_address(address: str | None = None) -> str | None:
    """The scheduler to use: ``address`` when given, else ``$DAEC_VIZ_SCHEDULER``, else
    None (decode in this process)."""
    address = address if address is not None else os.environ.get(SCHEDULER_ENV)
    address = (address or "").strip()
    return address or None


def connect(address: str, timeout: float = 10.0) -> Any:
    """A ``distributed.Client`` connected to the scheduler at ``address``
    (``tcp://host:8786``, ``host:8786``, ...).

    Raises
    ------
    ModelNotInstalledError
        When dask.distributed is not installed (the message gives the pip command).
    InputError
        When no scheduler answers at ``address`` within ``timeout`` seconds.
    """
    try:
        from distributed import Client
    except ImportError:
        raise ModelNotInstalledError('decoding on a Dask cluster needs dask.distributed: '
                                     'pip install "daec-viz[dask]"') from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"no Dask scheduler answers at {address!r} ({exc}); start one "
                         f"with `dask scheduler` and workers with `dask worker ADDRESS`",
                         field="--scheduler") from None


# ------------------------------------------------------------------------ worker side

_OPEN: OrderedDict[tuple, Any] = OrderedDict()
_OPEN_MAX = 4


def _open_dataset(folder: str, cache: str) -> Any:
    """The dataset at ``folder`` with cache file ``cache``, opened once per worker process
    (keyed by the paths and the files' size and mtime, so a rewritten cache reopens)."""
    from daec_viz.io.datasets import load_dataset

    key: tuple = (folder, cache)
    for p in (cache, str(Path(folder) / "annotations.json")):
        try:
            st = os.stat(p)
        except OSError as exc:
            raise InputError(f"the worker cannot see this file ({exc.strerror}); workers "
                             f"open the dataset from the client's path: use a shared file "
                             f"system mounted at the same path", path=p) from None
        key += (st.st_size, st.st_mtime_ns)
    ds = _OPEN.get(key)
    if ds is None:
        ds = load_dataset(folder, cache=cache)
        _OPEN[key] = ds
        while len(_OPEN) > _OPEN_MAX:
            _OPEN.popitem(last=False)[1].close()
    _OPEN.move_to_end(key)
    return ds


def decode_rows(folder: str, cache: str, cache_rows: np.ndarray,
                configs: Sequence[dict], batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Decode some instances of a cache with every configuration (runs on a worker).

    Parameters
    ----------
    folder, cache : the dataset folder and its cache file, as the worker sees them.
    cache_rows : (m,) rows of the cache file, in the order wanted.
    configs : resolved configurations as :meth:`DecoderConfig.to_dict` dicts.
    batch : instances read and decoded at once.

    Returns
    -------
    ``(coords, owner_maxvals)``: (C, m, K, 2) float64 heatmap px and (O, m, K) float64
    maxima of the configurations ``plan_decoding(configs).owners``.
    """
    ds = _open_dataset(folder, cache)
    plan = plan_decoding([DecoderConfig.from_dict(c) for c in configs])
    rows = np.asarray(cache_rows, dtype=np.int64)
    k = ds.num_keypoints
    coords = np.empty((len(plan.configs), rows.size, k, 2))
    maxv = np.empty((len(plan.owners), rows.size, k))
    for a in range(0, rows.size, batch):
        hm = ds.heatmaps.read_rows(rows[a:a + batch])
        c, m, _ = decode_slice(plan, hm)
        coords[:, a:a + len(hm)] = c
        maxv[:, a:a + len(hm)] = m[plan.owners]
    return coords, maxv


# ------------------------------------------------------------------------ client side

def chunk_rows(n: int, n_configs: int, k: int, batch: int = 512,
               task_bytes: int = TASK_BYTES) -> int:
    """Instances per task: a multiple of ``batch`` whose keypoints (C × K × 2 float64
    each) stay under ``task_bytes``, at least one batch.

    >>> chunk_rows(104_000, 179, 17)
    1024
    """
    per_row = max(1, n_configs * k * 2 * 8)
    rows = max(batch, (task_bytes // per_row) // batch * batch)
    return int(min(rows, max(n, 1)))


def cluster_decoder(client: Any, batch: int = 512, task_bytes: int = TASK_BYTES) -> Any:
    """The decoding step of :func:`~daec_viz.evaluation.sweep.run_sweep` on the workers
    of ``client`` (a ``distributed.Client``): ``run_sweep(ds, decoder=cluster_decoder(c))``.

    The dataset is cut into tasks of :func:`chunk_rows` instances; results are written into
    the sweep's store as they arrive (any order) and released on the workers at once.
    A worker's error (e.g. it cannot see the dataset's path) is raised on the client as an
    :class:`~daec_viz.exceptions.InputError` naming the dataset."""

    def decode(dataset: Any, plan: DecodePlan, store: Any, progress: Any = None) -> None:
        from distributed import as_completed

        n, k = len(dataset), dataset.num_keypoints
        folder = str(Path(dataset.path).resolve())
        cache = str(Path(dataset.cache_path).resolve())
        cache_rows = dataset.instances["cache_row"].to_numpy().astype(np.int64)
        configs = [c.to_dict() for c in plan.configs]
        step = chunk_rows(n, len(configs), k, batch, task_bytes)
        futures = {}
        for start in range(0, n, step):
            fut = client.submit(decode_rows, folder, cache, cache_rows[start:start + step],
                                configs, batch, pure=False)
            futures[fut] = start
        done = 0
        try:
            # the loop of this client: it need not be the default one (connect() does not
            # set it as default; as_completed would otherwise look for a default client)
            for fut in as_completed(list(futures), loop=client.loop):
                start = futures.pop(fut)
                try:
                    coords, maxv = fut.result()
                except DaecVizError as exc:
                    raise InputError(f"a Dask worker could not decode it: {exc}",
                                     path=folder) from None
                except Exception as exc:  # a worker's own failure
                    raise InputError(f"a Dask worker failed on rows {start}:"
                                     f"{start + step} ({type(exc).__name__}: {exc})",
                                     path=folder) from None
                fut.release()
                store.write(start, coords, maxv)
                done += coords.shape[1]
                if progress is not None:
                    progress(done / max(n, 1), "decoding on the cluster")
        finally:
            for fut in futures:  # on an error: drop what is still queued
                fut.cancel()

    return decode
