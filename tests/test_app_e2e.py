"""End-to-end: the app in headless Chromium (Debian's chromium driven by Playwright).

Starts ``python -m streamlit run app.py`` on a free port on 127.0.0.1 with a small demo
dataset, opens every page, waits for the plotly charts, checks that no exception or
error box appears, moves the Δ slider and sees the "DAEC AP" readout change, and saves
screenshots to tests/artifacts/ (gitignored). Skipped when chromium or playwright is
missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from apptest_support import stop_server

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROME_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
PAGES = [("", "Explore"), ("ap_vs_delta", "AP vs Δ"), ("errors", "Error direction"),
         ("compare", "Compare"), ("ab", "A/B"), ("learn", "Learn")]
CHART = '[data-testid="stPlotlyChart"] .main-svg'

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 40.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api")
    from daec_viz.synthetic.demo import build_demo
    tmp = tmp_path_factory.mktemp("e2e")
    data = build_demo(tmp / "demo", seed=2, n_images=12)
    port = _free_port()
    env = {**os.environ, "DAEC_VIZ_CACHE": str(tmp / "cache")}
    env.pop("DAEC_VIZ_DATASET", None)
    log = open(tmp / "streamlit.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--", "--dataset", str(data)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        stop_server(proc, log)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS,
                                     headless=True)
        # tall viewport: Streamlit scrolls inside its main block, so a "full page"
        # screenshot is the viewport
        pg = browser.new_page(viewport={"width": 1400, "height": 2400})
        pg.set_default_timeout(30_000)
        yield pg
        browser.close()


def _settle(pg) -> None:
    """Wait until the script run is over (no "running" status widget) and charts drew."""
    pg.wait_for_selector(CHART, state="visible", timeout=45_000)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        if pg.locator('[data-testid="stStatusWidget"]').count() == 0:
            break
        time.sleep(0.2)
    time.sleep(0.5)


_LEGEND_OVERLAPS = """() => {
  const out = [];
  const box = el => el.getBoundingClientRect();
  const hit = (a, b) => a.width > 0 && b.width > 0 && a.left < b.right && b.left < a.right
                        && a.top < b.bottom && b.top < a.bottom;
  document.querySelectorAll('.js-plotly-plot').forEach((plot, i) => {
    const legend = plot.querySelector('g.legend .bg') || plot.querySelector('g.legend');
    if (!legend) return;
    const lb = box(legend);
    plot.querySelectorAll('g.xtick text, g.ytick text, .g-xtitle text, .g-ytitle text, '
                          + '.colorbar').forEach(t => {
      if (hit(lb, box(t))) out.push(`chart ${i}: legend over "${t.textContent || 'colorbar'}"`);
    });
  });
  return out;
}"""


# the centre (page px) of the point of trace `name` of the first chart that lies farthest
# from every other trace's points, so a click there can only hit that trace
_LONELY_POINT = """(name) => {
  const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const traces = [...plot.querySelectorAll('.scatterlayer .trace')];
  const idx = plot.data.map(t => t.name).indexOf(name);
  const centre = el => { const b = el.getBoundingClientRect();
                         return [b.left + b.width / 2, b.top + b.height / 2]; };
  const others = traces.filter((_, i) => i !== idx)
                       .flatMap(t => [...t.querySelectorAll('path.point')].map(centre));
  // only points inside the plot area: clipped ones (off the y range) are not clickable
  const area = plot.querySelector('.nsewdrag').getBoundingClientRect();
  const inside = c => c[0] > area.left + 3 && c[0] < area.right - 3
                      && c[1] > area.top + 3 && c[1] < area.bottom - 3;
  let best = null, bestD = -1;
  traces[idx].querySelectorAll('path.point').forEach(el => {
    const c = centre(el);
    if (!inside(c)) return;
    const d = Math.min(...others.map(o => Math.hypot(o[0] - c[0], o[1] - c[1])), 1e9);
    if (d > bestD) { bestD = d; best = c; }
  });
  return best;
}"""


def _check_legends(pg, name: str) -> None:
    """No chart's legend lies over its axis tick labels, axis titles or colour bar."""
    bad = pg.evaluate(_LEGEND_OVERLAPS)
    assert not bad, f"{name}: " + "; ".join(bad[:5])


def _check_clean(pg, name: str) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0, f"exception on {name}"
    assert pg.locator('[data-testid="stAlertContentError"]').count() == 0, \
        f"error box on {name}: " + " | ".join(
            pg.locator('[data-testid="stAlertContentError"]').all_inner_texts())


def _metric(pg, label: str) -> str:
    box = pg.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_every_page_and_the_delta_control(server, page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for url_path, title in PAGES:
        page.goto(f"{server}/{url_path}", wait_until="domcontentloaded")
        _settle(page)
        page.get_by_role("heading", name=title).first.wait_for()
        assert page.locator(CHART).count() >= 1
        _check_clean(page, url_path or "explore")
        _check_legends(page, url_path or "explore")
        assert "Page not found" not in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / f"{url_path or 'explore'}.png"))

    # move the Δ slider on Explore and watch the AP readout change
    page.goto(f"{server}/", wait_until="domcontentloaded")
    _settle(page)
    before = _metric(page, "DAEC AP")
    slider = page.locator('[data-testid="stSidebar"] input[type="range"]').first
    start = float(slider.input_value())  # int(σ + 2), or Δ_opt once the sweep is cached
    slider.focus()
    for _ in range(6):  # Δ down by 3 in steps of 0.5
        page.keyboard.press("ArrowLeft")
    t0 = time.monotonic()
    after = before
    while time.monotonic() - t0 < 20 and after == before:
        time.sleep(0.25)
        after = _metric(page, "DAEC AP")
    assert after != before, "the DAEC AP readout did not follow the Δ slider"
    assert float(slider.input_value()) == start - 3.0
    _settle(page)
    _check_clean(page, "explore after Δ change")
    page.screenshot(path=str(ARTIFACTS / "explore_delta1.png"))


def _query(pg) -> dict[str, str]:
    from urllib.parse import parse_qs
    # the document's own location: Streamlit rewrites it with history.replaceState
    return {k: v[0] for k, v in parse_qs(pg.evaluate("() => window.location.search")
                                         .lstrip("?")).items()}


def _wait_query(pg, **want: str) -> dict[str, str]:
    t0 = time.monotonic()
    q = _query(pg)
    while time.monotonic() - t0 < 30 and any(q.get(k) != v for k, v in want.items()):
        time.sleep(0.25)
        q = _query(pg)
    return q


def test_link_click_and_download(server, page, tmp_path):
    # a shared link reopens the view: controls from the URL, not the dataset's defaults
    page.goto(f"{server}/ap_vs_delta?delta=2.5&pattern=UL&smooth=0", wait_until="domcontentloaded")
    _settle(page)
    page.get_by_role("heading", name="AP vs Δ").first.wait_for()
    slider = page.locator('[data-testid="stSidebar"] input[type="range"]').first
    assert float(slider.input_value()) == 2.5
    q = _wait_query(page, delta="2.5", pattern="UL", smooth="0")
    assert (q.get("delta"), q.get("pattern"), q.get("smooth")) == ("2.5", "UL", "0")
    _check_clean(page, "ap_vs_delta from a link")

    # a click on a point of the "UR +smooth" curve sets Δ, pattern and smoothing
    q = {}
    for _ in range(3):  # a busy machine may redraw the chart under the pointer: retry
        _settle(page)
        x, y = page.evaluate(_LONELY_POINT, "UR +smooth")
        # plotly takes clicks on its drag layer at the point's position, not on the marker
        page.mouse.move(x, y)
        time.sleep(0.3)
        page.mouse.click(x, y)
        q = _wait_query(page, pattern="UR", smooth="1")
        if q.get("pattern") == "UR" and q.get("smooth") == "1":
            break
    page.screenshot(path=str(ARTIFACTS / "ap_vs_delta_clicked.png"))
    assert q.get("pattern") == "UR" and q.get("smooth") == "1", q
    _settle(page)
    _check_clean(page, "ap_vs_delta after a click")
    page.screenshot(path=str(ARTIFACTS / "ap_vs_delta_clicked.png"))

    # a download: the per-joint table as CSV
    page.goto(f"{server}/compare", wait_until="domcontentloaded")
    _settle(page)
    button = page.get_by_role("button", name="Per-joint AP as CSV")
    button.wait_for(timeout=60_000)
    with page.expect_download() as info:
        button.click()
    text = Path(info.value.path()).read_text()
    assert text.splitlines()[0].startswith("joint,") and "DAEC" in text.splitlines()[0]
    assert len(text.splitlines()) == 18  # header + 17 joints
