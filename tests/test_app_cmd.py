"""``daec-viz app``: the streamlit command it runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from daec_viz.cli.app_cmd import build_command, entry_script
from daec_viz.exceptions import InputError


def test_entry_script_is_the_package_entry_not_next_to_pages():
    p = entry_script()
    assert p.is_file() and p.name == "app.py" and p.parent.name == "entry"
    # a main script with a sibling pages/ folder would run as an old-style multipage app
    assert not (p.parent / "pages").exists()
    assert "from daec_viz_app.main import run" in p.read_text()


def test_build_command(tmp_path):
    cmd = build_command(str(tmp_path), port=8600, address="127.0.0.1", headless=True)
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert cmd[4] == str(entry_script())
    assert cmd[cmd.index("--server.port") + 1] == "8600"
    assert cmd[cmd.index("--") + 1:] == ["--dataset", str(Path(tmp_path).resolve())]
    assert build_command(None)[-1] == "--"
    with pytest.raises(InputError, match="not a folder"):
        build_command(str(tmp_path / "missing"))


def test_cli_prints_the_command(tmp_path, capsys):
    from daec_viz.cli import main
    assert main(["app", str(tmp_path), "--port", "8611", "--print-command"]) == 0
    out = capsys.readouterr().out
    assert "streamlit run" in out and "--dataset" in out and "8611" in out
