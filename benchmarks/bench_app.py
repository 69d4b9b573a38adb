"""How fast the app answers: time from a Δ change until each page is idle again.

Run:  python benchmarks/bench_app.py [--images 300] [--repeats 3]

Builds the simulated demo (``--images`` images, in a temp folder), starts the app on
127.0.0.1 with Streamlit headless, opens every page in Debian's Chromium (Playwright),
warms it (first render, sweep, caches), then moves the sidebar's Δ slider one step with
the keyboard ``--repeats`` times per page and measures from the key press until
Streamlit's "running" widget has come and gone and the charts are drawn. Prints the
median and the worst per page. Needs ``chromium`` and ``playwright`` (the test extras).
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    from playwright.sync_api import sync_playwright

    from daec_viz.synthetic.demo import build_demo
    tmp = Path(tempfile.mkdtemp(prefix="daec-viz-bench-app-"))
    data = build_demo(tmp / "demo", seed=0, n_images=args.images)
    port = _free_port()
    env = {**os.environ, "DAEC_VIZ_CACHE": str(tmp / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
         str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--",
         "--dataset", str(data)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    rows = []
    try:
        _wait_healthy(url)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=["--headless=new", "--no-sandbox",
                                               "--disable-gpu"])
            pg = browser.new_page(viewport={"width": 1400, "height": 2400})
            pg.set_default_timeout(120_000)
            for url_path, title in PAGES:
                pg.goto(f"{url}/{url_path}", wait_until="domcontentloaded")
                first = _idle(pg, time.monotonic(), timeout=600)  # includes the sweep
                slider = pg.locator('[data-testid="stSidebar"] input[type="range"]').first
                times = []
                for i in range(args.repeats):
                    slider.focus()
                    t0 = time.monotonic()
                    pg.keyboard.press("ArrowLeft" if i % 2 == 0 else "ArrowRight")
                    times.append(_idle(pg, t0))
                rows.append((title, first, statistics.median(times), max(times)))
                print(f"{title:16s} first view {first:6.2f} s   after a Δ change: "
                      f"median {rows[-1][2]:.2f} s, worst {rows[-1][3]:.2f} s", flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{args.images}-image demo, {os.cpu_count()} cores")
    print("| page | first view (s) | after a Δ change, median (s) | worst (s) |")
    print("|---|---:|---:|---:|")
    for title, first, med, worst in rows:
        print(f"| {title} | {first:.2f} | {med:.2f} | {worst:.2f} |")


if __name__ == "__main__":
    main()
