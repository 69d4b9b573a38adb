"""How fast the app answers: first visits after the server starts, and Δ changes.

Run:  python benchmarks/bench_app.py [--images 300] [--repeats 3] [--after 10]
                                     [--cold-only | --no-cold]

Builds the simulated demo (``--images`` images, in a temp folder) and serves it with
``daec-viz app DATASET --headless`` on 127.0.0.1 (the launcher that warms the app up in
the background as the server starts), driving Debian's Chromium through Playwright.

1. Δ changes: one server; every page is opened once (its first view: the first visit to
   AP vs Δ computes the default sweep, which lands in the disk cache), then the sidebar's
   Δ slider is moved one step with the keyboard ``--repeats`` times per page, timed from
   the key press until Streamlit's "running" widget has come and gone and the charts are
   drawn.
2. First visits after a server start: for each page, a fresh server (the sweep now in
   its disk cache, as after any restart), a fresh browser page opened ``--after`` seconds
   after the server answers its health check (the time a user takes to open the link),
   timed from navigation until the page is idle with its charts drawn.

Beside each wall time: the CPU seconds the server process used in that interval
(``/proc/PID/stat``), which a busy machine inflates less than wall time. Needs
``chromium`` and ``playwright`` (the test extras).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [("", "Explore"), ("ap_vs_delta", "AP vs Δ"), ("errors", "Error direction"),
         ("compare", "Compare"), ("ab", "A/B"), ("learn", "Learn")]
STATUS = '[data-testid="stStatusWidget"]'
CHART = '[data-testid="stPlotlyChart"] .main-svg'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("streamlit did not become healthy")


def _idle(pg, started: float, timeout: float = 120.0) -> float:
    """Seconds from ``started`` until the run indicator has appeared and gone (a run
    that ends before the indicator shows counts as idle at once)."""
    seen = False
    while time.monotonic() - started < timeout:
        running = pg.locator(STATUS).count() > 0
        seen |= running
        if not running and (seen or time.monotonic() - started > 0.3):
            break
        time.sleep(0.02)
    pg.wait_for_selector(CHART, state="visible", timeout=60_000)
    return time.monotonic() - started


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(data: Path, tmp: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DAEC_VIZ_CACHE": str(tmp / "cache"), "DAEC_VIZ_APP_ROOT": str(tmp)}
    env.pop("DAEC_VIZ_DATASET", None)
    proc = subprocess.Popen([sys.executable, "-m", "daec_viz", "app", str(data), "--port",
                             str(port), "--headless"], cwd=tmp, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url)
    return proc, url


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _delta_changes(browser, data: Path, tmp: Path, repeats: int) -> list[tuple]:
    proc, url = _start(data, tmp)
    rows = []
    try:
        pg = browser.new_page(viewport={"width": 1400, "height": 2400})
        pg.set_default_timeout(120_000)
        for url_path, title in PAGES:
            c0, t0 = _server_cpu(proc.pid), time.monotonic()
            pg.goto(f"{url}/{url_path}", wait_until="domcontentloaded")
            first = _idle(pg, t0, timeout=600)  # includes the sweep
            first_cpu = _server_cpu(proc.pid) - c0
            slider = pg.locator('[data-testid="stSidebar"] input[type="range"]').first
            times, cpus = [], []
            for i in range(repeats):
                slider.focus()
                c0, t0 = _server_cpu(proc.pid), time.monotonic()
                pg.keyboard.press("ArrowLeft" if i % 2 == 0 else "ArrowRight")
                times.append(_idle(pg, t0))
                cpus.append(_server_cpu(proc.pid) - c0)
            rows.append((title, first, first_cpu, statistics.median(times), max(times),
                         statistics.median(cpus)))
            print(f"{title:16s} first view {first:6.2f} s ({first_cpu:.2f} s CPU)   after a "
                  f"Δ change: median {rows[-1][3]:.2f} s, worst {rows[-1][4]:.2f} s "
                  f"({rows[-1][5]:.2f} s CPU)", flush=True)
        pg.close()
    finally:
        _stop(proc)
    return rows


def _first_visits(browser, data: Path, tmp: Path, after: float) -> list[tuple]:
    rows = []
    for url_path, title in PAGES:
        proc, url = _start(data, tmp)
        try:
            time.sleep(after)
            pg = browser.new_page(viewport={"width": 1400, "height": 2400})
            pg.set_default_timeout(120_000)
            c0, t0 = _server_cpu(proc.pid), time.monotonic()
            pg.goto(f"{url}/{url_path}", wait_until="domcontentloaded")
            wall = _idle(pg, t0, timeout=600)
            rows.append((title, wall, _server_cpu(proc.pid) - c0))
            print(f"{title:16s} first visit {after:g} s after start: {wall:6.2f} s "
                  f"({rows[-1][2]:.2f} s CPU)", flush=True)
            pg.close()
        finally:
            _stop(proc)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--after", type=float, default=10.0,
                    help="seconds between the server's start and the first visit")
    ap.add_argument("--no-cold", action="store_true", help="skip the first visits")
    args = ap.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    from playwright.sync_api import sync_playwright

    from daec_viz.synthetic.demo import build_demo
    tmp = Path(tempfile.mkdtemp(prefix="daec-viz-bench-app-"))
    data = build_demo(tmp / "demo", seed=0, n_images=args.images)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=["--headless=new", "--no-sandbox",
                                               "--disable-gpu"])
            rows = _delta_changes(browser, data, tmp, args.repeats)
            cold = [] if args.no_cold else _first_visits(browser, data, tmp, args.after)
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{args.images}-image demo, {os.cpu_count()} cores, load average {load:.1f}; "
          "CPU = the server process's user + system seconds")
    cold_of = {title: (wall, cpu) for title, wall, cpu in cold}
    print(f"| page | first visit {args.after:g} s after start (s) | its CPU (s) | first view, "
          "same server (s) | after a Δ change, median (s) | worst (s) | its CPU, median (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for title, first, _fc, med, worst, cpu in rows:
        cw, cc = cold_of.get(title, (float("nan"), float("nan")))
        print(f"| {title} | {cw:.2f} | {cc:.2f} | {first:.2f} | {med:.2f} | {worst:.2f} | "
              f"{cpu:.2f} |")


if __name__ == "__main__":
    main()
