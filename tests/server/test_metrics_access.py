"""/metrics: this machine only by default, or anyone with the token; the token never on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.server.helpers import running_server
from tests.server.test_cli import piclient


def test_metrics_without_a_token_answer_this_machine_but_not_a_proxied_stranger(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 200
        # What a reverse proxy on this machine sends for a request from the internet.
        for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"},
                       {"X-Real-IP": "203.0.113.9"}):
            refused = requests.get(f"{server.url}/metrics", headers=header, timeout=10)
            assert refused.status_code == 403 and "PICLIENT_METRICS_TOKEN" in refused.json()["error"]


def test_behind_a_trusted_proxy_the_real_client_is_not_this_machine(tmp_path: Path) -> None:
    with running_server(tmp_path, None, "--trust-proxy", "127.0.0.1") as server:
        refused = requests.get(f"{server.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
        assert refused.status_code == 403


@pytest.mark.parametrize("source", ["env", "file"])
def test_metrics_with_a_token_from_the_environment_or_a_file_need_it(tmp_path: Path, source: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    extra: list[str] = []
    if source == "env":
        monkeypatch.setenv("PICLIENT_METRICS_TOKEN", "s3cret-scrape")
    else:
        (tmp_path / "token").write_text("s3cret-scrape\n")
        extra = ["--metrics-token-file", str(tmp_path / "token")]
    with running_server(tmp_path, None, *extra) as server:
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 401
        ok = requests.get(f"{server.url}/metrics", headers={"Authorization": "Bearer s3cret-scrape",
                                                             "X-Forwarded-For": "203.0.113.9"}, timeout=10)
        assert ok.status_code == 200 and "piclient_devices" in ok.text


def test_a_token_on_the_command_line_is_refused_with_the_reason(tmp_path: Path) -> None:
    refused = piclient("--data", str(tmp_path / "data"), "--metrics-token", "visible-in-ps")
    assert refused.returncode != 0
    assert "ps" in refused.stderr and "PICLIENT_METRICS_TOKEN" in refused.stderr
