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


def test_email_alert_flags_are_checked_before_the_server_starts(tmp_path: Path) -> None:
    data = ["--data", str(tmp_path / "server-data")]
    email = ["--alert-email", "son@example.org"]
    cases = [
        (email, "--alert-email needs --smtp-host and --smtp-from"),
        ([*email, "--smtp-host", "smtp.example.org"], "--alert-email needs --smtp-from"),
        (["--smtp-host", "smtp.example.org"], "--smtp-host only mean something with --alert-email"),
        ([*email, "--smtp-host", "smtp.example.org:smtp", "--smtp-from", "tv@example.org"], "HOST:PORT"),
        (["--alert-email", "son", "--smtp-host", "smtp.example.org", "--smtp-from", "tv@example.org"],
         "--alert-email wants an e-mail address"),
        ([*email, "--smtp-host", "smtp.example.org", "--smtp-from", "tv@example.org", "--smtp-user", "tv"],
         "PICLIENT_SMTP_PASSWORD"),
    ]
    for flags, complaint in cases:
        refused = piclient(*data, *flags)
        assert refused.returncode != 0 and complaint in refused.stderr, (flags, refused.stderr)
        assert "listening" not in refused.stdout
    # The password has no flag: it would show in `ps` to everyone on the machine.
    assert piclient(*data, *email, "--smtp-password", "secret").returncode == 2


def test_the_relay_port_and_starttls_follow_from_where_the_relay_is() -> None:
    from piclient.server import cli
    from piclient.server.settings import EmailSettings

    def settings(host: str, environ: dict[str, str] | None = None) -> EmailSettings:
        args = cli._parser().parse_args(["serve", "--data", "d", "--alert-email", "son@example.org",
                                         "--smtp-host", host, "--smtp-from", "tv@example.org",
                                         *(["--smtp-user", "tv"] if environ else [])])
        email = cli._email_settings(args, environ or {})
        assert email is not None
        return email

    def relay(host: str) -> tuple[str, int, bool]:
        email = settings(host)
        return email.host, email.port, email.require_tls

    assert relay("smtp.example.org") == ("smtp.example.org", 587, True)
    assert relay("smtp.example.org:2525") == ("smtp.example.org", 2525, True)
    assert relay("localhost") == ("localhost", 25, False)
    assert relay("[::1]:1025") == ("::1", 1025, False)
    with_login = settings("smtp.example.org", {"PICLIENT_SMTP_PASSWORD": "from the environment"})
    assert (with_login.user, with_login.password) == ("tv", "from the environment")
    assert "from the environment" not in repr(with_login)  # settings may be logged; the password may not


def test_the_abandoned_upload_time_must_be_a_number_of_days_above_zero(tmp_path: Path) -> None:
    from piclient.server import cli

    data = ["--data", str(tmp_path / "server-data")]
    for value in ("0", "-3", "soon", "nan"):
        refused = piclient(*data, "--abandoned-upload-days", value)
        assert refused.returncode == 2 and "is not a number of days above 0" in refused.stderr, refused.stderr
        assert "listening" not in refused.stdout
    args = cli._parser().parse_args(["serve", "--data", "d", "--abandoned-upload-days", "2.5"])
    assert args.abandoned_upload_days == 2.5
    assert cli._parser().parse_args(["serve", "--data", "d"]).abandoned_upload_days == 7.0
