"""`piclient server add-device / revoke-device / set-password` as a maintainer types them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tests.server.helpers import login, running_server, send_heartbeat


def piclient(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "piclient", "server", *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def token_in(output: str) -> str:
    return next(line.split("token:", 1)[1].strip() for line in output.splitlines() if "token:" in line)


def test_add_device_prints_the_config_lines_once_and_revoke_device_stops_the_token(tmp_path: Path) -> None:
    data = tmp_path / "server-data"
    added = piclient("add-device", "Living room", "--data", str(data), "--url", "https://tv.example.org")
    assert added.returncode == 0, added.stderr
    assert "server:\n  url: https://tv.example.org\n  token: " in added.stdout
    token = token_in(added.stdout)
    assert len(token) >= 43  # 256 bits in URL-safe base64
    assert token not in (data / "piclient.db").read_bytes().decode("latin-1")  # stored hashed only
    with running_server(tmp_path) as server:
        assert send_heartbeat(server, token).status_code == 200
        revoked = piclient("revoke-device", "Living room", "--data", str(data))
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        assert send_heartbeat(server, token).status_code == 401


def test_a_device_name_is_added_once_and_new_token_replaces_the_old_one(tmp_path: Path) -> None:
    data = tmp_path / "server-data"
    first = token_in(piclient("add-device", "Kitchen", "--data", str(data)).stdout)
    again = piclient("add-device", "Kitchen", "--data", str(data))
    assert again.returncode == 1 and "already exists" in again.stderr
    second = token_in(piclient("add-device", "Kitchen", "--data", str(data), "--new-token").stdout)
    with running_server(tmp_path) as server:
        assert send_heartbeat(server, first).status_code == 401
        assert send_heartbeat(server, second).status_code == 200
    assert piclient("revoke-device", "Nobody", "--data", str(data)).returncode == 1


def test_set_password_reads_stdin_and_the_dashboard_accepts_it(tmp_path: Path) -> None:
    data = tmp_path / "server-data"
    short = piclient("set-password", "--data", str(data), "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 8" in short.stderr
    good = piclient("set-password", "--data", str(data), "--password-stdin", stdin="a long passphrase\n")
    assert good.returncode == 0
    with running_server(tmp_path) as server:
        session, _ = login(server, "a long passphrase")
        assert session.get(f"{server.url}/api/dash/devices", timeout=10).status_code == 200
        assert requests.get(f"{server.url}/healthz", timeout=10).json() == {"ok": True}
