"""Shared helper of the bad-input suite (tests/test_bad_input_*.py).

Every case ends in one of two ways, checked here in one place:

- an error: non-zero exit, one ``error:`` line naming the file and the field, no
  "Traceback" (:func:`run_cli`; :func:`expect_error` for library calls);
- a run with a visible warning: exit 0 and a ``warning:`` line (:func:`run_cli` with
  ``code=0, warns=...``).

Either way no input file or folder changes (:func:`snapshot` hashes every file, mode
and link before and after).

Permissions and root: tests run as root here, and root reads everything. Library-level
cases emulate the denial by patching ``open`` (:func:`deny_reads`); CLI cases run the
command in a subprocess without the two capabilities that let root ignore permission
bits (``setpriv --bounding-set=-dac_override,-dac_read_search``), which is a real
permission check; as a non-root user the same subprocess runs as it is.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from daec_viz.exceptions import DaecVizError

ROOT = Path(__file__).resolve().parents[1]


def snapshot(*paths: str | Path) -> dict[str, tuple]:
    """Kind, mode and sha256 of every file, folder and link under ``paths``."""
    out: dict[str, tuple] = {}
    for root in map(Path, paths):
        if not os.path.lexists(root):
            out[str(root)] = ("absent",)
            continue
        todo = [root]
        while todo:
            p = todo.pop()
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[str(p)] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[str(p)] = ("dir", st.st_mode)
                with contextlib.suppress(PermissionError):
                    todo += sorted(p.iterdir())
            else:
                with contextlib.suppress(PermissionError), open(p, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
                    out[str(p)] = ("file", st.st_mode, digest)
                out.setdefault(str(p), ("file", st.st_mode, st.st_size, st.st_mtime_ns))
    return out


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def _in_process(args: list[str]) -> CliResult:
    from daec_viz.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 1
    return CliResult(int(code), out.getvalue(), err.getvalue())


def _subprocess(args: list[str], env: dict[str, str] | None, prefix: list[str],
                timeout: float, cwd: str | Path | None) -> CliResult:
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("PYTHONPATH", str(ROOT))
    proc = subprocess.run([*prefix, sys.executable, "-m", "daec_viz", *args],
                          capture_output=True, text=True, env=full_env, timeout=timeout,
                          cwd=cwd)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def run_cli(args: list[str], *, inputs: tuple = (), code: int | None = 2,
            mentions: tuple[str, ...] = (), warns: tuple[str, ...] = (),
            subprocess_: bool = False, env: dict[str, str] | None = None,
            prefix: list[str] | None = None, timeout: float = 600,
            cwd: str | Path | None = None) -> CliResult:
    """Run ``daec-viz ARGS`` and check the bad-input contract.

    ``code``: the expected exit code (None: any non-zero). ``mentions``: strings the
    error line must hold (file, field, what was expected). ``warns``: strings that must
    appear on ``warning:`` lines. ``inputs``: files/folders that must be unchanged.
    In-process by default; ``subprocess_=True`` (or a ``prefix`` such as setpriv) runs
    ``python -m daec_viz``.
    """
    args = [str(a) for a in args]
    before = snapshot(*inputs)
    if subprocess_ or prefix:
        res = _subprocess(args, env, prefix or [], timeout, cwd)
    else:
        res = _in_process(args)
    where = f"daec-viz {' '.join(args)}\nstdout: {res.out[-2000:]}\nstderr: {res.err[-3000:]}"
    assert "Traceback" not in res.err, where
    if code is None:
        assert res.code != 0, where
    else:
        assert res.code == code, where
    errors = [ln for ln in res.err.splitlines() if ": error: " in ln or ln.startswith("error:")]
    if res.code not in (0, 130):  # 130: interrupted (Ctrl-C), says so without an error
        assert len(errors) == 1, where
        for m in mentions:
            assert m in errors[0], f"{m!r} not in the error line\n{where}"
    warnings = [ln for ln in res.err.splitlines() if ": warning: " in ln]
    for w in warns:
        assert any(w in ln for ln in warnings), f"no warning with {w!r}\n{where}"
    assert snapshot(*inputs) == before, f"an input changed\n{where}"
    return res


def expect_error(fn: Any, *args: Any, mentions: tuple[str, ...] = (),
                 exc: type[Exception] = DaecVizError, inputs: tuple = (),
                 **kwargs: Any) -> Exception:
    """``fn(*args, **kwargs)`` raises ``exc`` with one line holding every ``mentions``."""
    before = snapshot(*inputs)
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    text = str(info.value)
    assert "\n" not in text.strip() or "Traceback" not in text, text
    for m in mentions:
        assert m in text, f"{m!r} not in {text!r}"
    assert snapshot(*inputs) == before, "an input changed"
    return info.value


@contextlib.contextmanager
def deny_reads(folder: str | Path):
    """Emulate ``chmod 000 folder`` for a root process: ``open``/``os.open``/``os.scandir``
    of anything inside ``folder`` (after resolving links) raise PermissionError."""
    folder = Path(folder).resolve()
    real_open, real_os_open, real_scandir = builtins.open, os.open, os.scandir

    def inside(p: Any) -> bool:
        try:
            r = Path(os.fsdecode(p)).resolve() if isinstance(p, (str, bytes, os.PathLike)) \
                else None
        except (OSError, TypeError):
            return False
        return r is not None and (r == folder or folder in r.parents)

    def deny(p: Any) -> None:
        raise PermissionError(13, "Permission denied", os.fsdecode(p))

    def fake_open(file: Any, *a: Any, **k: Any) -> Any:
        if inside(file):
            deny(file)
        return real_open(file, *a, **k)

    def fake_os_open(path: Any, *a: Any, **k: Any) -> Any:
        if inside(path):
            deny(path)
        return real_os_open(path, *a, **k)

    def fake_scandir(path: Any = ".") -> Any:
        if inside(path):
            deny(path)
        return real_scandir(path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(builtins, "open", fake_open)
        mp.setattr(os, "open", fake_os_open)
        mp.setattr(os, "scandir", fake_scandir)
        yield


def no_dac_prefix() -> list[str]:
    """Command prefix that makes permission bits apply to this process (see the module
    docstring); [] when not root. Skips when root cannot drop the capabilities."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root without setpriv: cannot test real permission errors")
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("setpriv cannot drop capabilities here")
    return prefix


@contextlib.contextmanager
def chmod_000(path: str | Path):
    """``chmod 000 path`` for the block (mode restored afterwards)."""
    path = Path(path)
    mode = path.stat().st_mode & 0o7777
    path.chmod(0)
    try:
        yield path
    finally:
        path.chmod(mode)


def read_only_mount_prefix(*folders: str | Path) -> list[str]:
    """Command prefix running the rest in a private mount namespace where ``folders``
    are bind-mounted read-only (even root gets EROFS). Skips when not possible."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("read-only bind mounts need root and unshare")
    mounts = " && ".join(f"mount --bind '{f}' '{f}' && mount -o remount,ro,bind '{f}' '{f}'"
                         for f in folders)
    probe = subprocess.run([unshare, "-m", "sh", "-c", f"{mounts} && true"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {probe.stderr.decode()[:200]}")
    return [unshare, "-m", "sh", "-c", f'{mounts} && exec "$@"', "sh"]
