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
    # streamlit's ``run`` inside the launcher that warms the app up as the server starts
    assert cmd[:4] == [sys.executable, "-m", "daec_viz_app.server", "run"]
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
    assert "daec_viz_app.server run" in out and "--dataset" in out and "8611" in out


def _option(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(f"--{name}") + 1]


def test_binds_to_this_machine_unless_told_otherwise():
    cmd = build_command(None)
    assert _option(cmd, "server.address") == "127.0.0.1"
    assert _option(build_command(None, address="0.0.0.0"), "server.address") == "0.0.0.0"
    assert _option(cmd, "server.maxUploadSize") == "1"
    assert _option(cmd, "server.enableXsrfProtection") == "true"


def test_server_options_equal_the_checkouts_config():
    """``streamlit run app.py`` (the checkout's .streamlit/config.toml) and ``daec-viz
    app`` serve with the same options."""
    import tomllib

    from daec_viz.cli.app_cmd import SERVER_OPTIONS
    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" /
                            "config.toml").read_text("utf-8"))
    for name, value in SERVER_OPTIONS.items():
        section, option = name.split(".")
        got = config[section][option]
        assert str(got).lower() == value, name


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("127.0.0.2", True),
                                           ("::1", True), ("localhost", True),
                                           ("0.0.0.0", False), ("::", False),
                                           ("192.168.1.5", False), ("myhost", False)])
def test_is_loopback(host, loopback):
    from daec_viz.cli.app_cmd import is_loopback
    assert is_loopback(host) is loopback


def test_serving_beyond_this_machine_needs_a_root(tmp_path, capsys, monkeypatch):
    from daec_viz.cli import main
    monkeypatch.delenv("DAEC_VIZ_APP_ROOT", raising=False)
    assert main(["app", "--host", "0.0.0.0", "--print-command"]) == 2
    err = capsys.readouterr().err
    assert "--root" in err and "0.0.0.0" in err and "Traceback" not in err
    assert main(["app", "--host", "0.0.0.0", "--root", str(tmp_path / "nope"),
                 "--print-command"]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["app", "--host", "0.0.0.0", "--root", str(tmp_path),
                 "--print-command"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"DAEC_VIZ_APP_ROOT={tmp_path.resolve()} ")
    assert "--server.address 0.0.0.0" in out
    # this machine only: the default root (home) is fine
    assert main(["app", "--print-command"]) == 0
    assert "--server.address 127.0.0.1" in capsys.readouterr().out
