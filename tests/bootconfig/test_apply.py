"""`piclient boot-config apply` and `notice`: what the box does with piclient.yaml at every boot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from piclient.bootconfig.apply import PROBLEMS, RUNTIME_CONFIG, SERVER_FLAG, apply
from piclient.bootconfig.notice import HEADLINE, notice_text, send_notice
from piclient.bootconfig.salvage import salvage
from piclient.config import load_config
from piclient.config.schema import SystemConfig
from tests.launcher import Launcher, write_config

GOOD = """\
device: {name: "Mum's TV"}
server: {url: "https://tv.example.org", token: "tok-123"}
system:
  hostname: mums-tv
  timezone: Asia/Seoul
  wifi: {country: KR, ssid: Home, password: "correct horse"}
"""


def _apply(tmp_path: Path, text: str | None):
    card = tmp_path / "boot" / "piclient.yaml"
    card.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        card.write_text(text, encoding="utf-8")
    root, run = tmp_path / "root", tmp_path / "run"
    return apply(card, root, run), root, run


def test_a_valid_file_is_applied_whole(tmp_path: Path) -> None:
    result, root, run = _apply(tmp_path, GOOD)
    assert result.problems == []
    assert (root / "etc/hostname").read_text() == "mums-tv\n"
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Asia/Seoul"
    assert "country=KR" in (root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf").read_text()
    runtime = load_config(run / RUNTIME_CONFIG)  # the launcher and agent can load what was written
    assert runtime.server.token == "tok-123" and runtime.device.name == "Mum's TV"
    assert (run / SERVER_FLAG).exists()
    assert not (run / PROBLEMS).exists()


def test_a_wrong_wifi_password_keeps_the_server_so_the_agent_still_phones_home(tmp_path: Path) -> None:
    result, root, run = _apply(tmp_path, GOOD.replace('"correct horse"', "short"))
    assert result.dropped == ["system.wifi"]
    runtime = load_config(run / RUNTIME_CONFIG)
    assert runtime.server.url == "https://tv.example.org"
    assert (run / SERVER_FLAG).exists()
    problems = json.loads((run / PROBLEMS).read_text())["problems"]
    assert any(p.startswith("system.wifi.password:") for p in problems)
    # The Wi-Fi goes as a whole (a name without its password joins nothing); the rest of system stays.
    assert "network={" not in (root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf").read_text()
    assert runtime.system.wifi.ssid == ""
    assert (root / "etc/hostname").read_text() == "mums-tv\n"


def test_a_mistyped_time_zone_costs_only_the_time_zone_not_the_ssh_keys_or_wifi(tmp_path: Path) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDXk maintainer@laptop"
    text = GOOD.replace("Asia/Seoul", "Asia/Seol") + f"  ssh_authorized_keys: ['{key}']\n"
    result, root, run = _apply(tmp_path, text)
    assert result.dropped == ["system.timezone"]
    assert [p.split(":")[0] for p in result.problems] == ["system.timezone"]
    runtime = load_config(run / RUNTIME_CONFIG)
    assert runtime.system.ssh_authorized_keys == [key]
    assert runtime.system.wifi.ssid == "Home" and runtime.system.hostname == "mums-tv"
    assert runtime.system.timezone == SystemConfig().timezone
    assert "network={" in (root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf").read_text()


def test_every_broken_setting_goes_and_every_valid_one_stays(tmp_path: Path) -> None:
    text = GOOD.replace("mums-tv", "mum's tv!").replace("Asia/Seoul", "Mars/Base") + "ui: {overscan_percent: 50}\n"
    result = salvage(text)
    assert result.dropped == ["system.hostname", "system.timezone", "ui.overscan_percent"]
    assert result.config.system.wifi.ssid == "Home" and result.config.server.token == "tok-123"
    assert result.data["ui"] == {} and "hostname" not in result.data["system"]


def test_a_broken_server_part_stops_only_the_agent(tmp_path: Path) -> None:
    result, _root, run = _apply(tmp_path, GOOD.replace("https://tv.example.org", "tv.example.org"))
    assert result.dropped == ["server.url"]
    assert not (run / SERVER_FLAG).exists()
    assert load_config(run / RUNTIME_CONFIG).system.hostname == "mums-tv"


def test_a_file_that_is_not_yaml_or_missing_still_boots_with_defaults(tmp_path: Path) -> None:
    for text in ("server: [unclosed\n", None, "- a list\n"):
        result, _root, run = _apply(tmp_path, text)
        assert result.problems
        assert yaml.safe_load((run / RUNTIME_CONFIG).read_text()) in ({}, None)
        if text is None:
            (tmp_path / "boot" / "piclient.yaml").unlink(missing_ok=True)


def test_an_unknown_section_is_dropped_and_named(tmp_path: Path) -> None:
    result = salvage(GOOD + "wifi: {ssid: Home}\n")
    assert result.dropped == ["wifi"]
    assert any("wifi: unknown key" in p for p in result.problems)
    assert result.config.system.wifi.ssid == "Home"  # the right place for it was kept


def test_the_notice_reads_calmly_in_korean_and_names_the_setting(tmp_path: Path) -> None:
    text = notice_text(["system.wifi.password: a Wi-Fi password has 8 to 63 characters; check it on the router"])
    assert text.startswith(HEADLINE)
    assert "와이파이 비밀번호 (system.wifi.password): a Wi-Fi password has 8 to 63" in text
    assert len(notice_text(["x.y: " + "z" * 1000])) <= 500


def test_the_mistakes_show_on_a_running_launchers_screen(tmp_path: Path) -> None:
    _result, _root, run = _apply(tmp_path, GOOD.replace("Asia/Seoul", "Seoul"))
    launcher = Launcher(tmp_path, write_config(tmp_path, ""))
    try:
        assert send_notice(run, tmp_path / "tv.sock")
        shown = launcher.status()["overlay"]
        assert "system.timezone" in json.dumps(shown, ensure_ascii=False)
    finally:
        launcher.stop()


def test_no_notice_when_the_file_was_fine(tmp_path: Path) -> None:
    _result, _root, run = _apply(tmp_path, GOOD)
    assert send_notice(run, tmp_path / "absent.sock") is False


def test_the_command_never_fails_the_boot(tmp_path: Path) -> None:
    card = tmp_path / "piclient.yaml"
    card.write_text("server: [broken\n")
    done = subprocess.run([sys.executable, "-m", "piclient", "boot-config", "apply", str(card), "--root",
                           str(tmp_path / "root"), "--run-dir", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert "not valid YAML" in done.stderr + done.stdout


def test_the_notice_command_finds_the_launchers_socket_in_the_runtime_config(tmp_path: Path) -> None:
    card = tmp_path / "boot" / "piclient.yaml"
    card.parent.mkdir()
    card.write_text(f"paths: {{socket: {tmp_path / 'elsewhere.sock'}}}\nsystem: {{timezone: Seoul}}\n")
    run = tmp_path / "run"
    apply(card, tmp_path / "root", run)
    done = subprocess.run([sys.executable, "-m", "piclient", "boot-config", "notice", "--run-dir", str(run)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0  # never fails the unit's start
    assert "elsewhere.sock" in done.stderr + done.stdout  # it asked the launcher where the config says


def test_an_unreadable_boot_partition_falls_back_to_the_last_file_that_could_be_read(tmp_path: Path) -> None:
    kept = tmp_path / "state" / "boot-config" / "piclient.yaml"
    card = tmp_path / "boot" / "piclient.yaml"
    card.parent.mkdir(parents=True)
    card.write_text(GOOD, encoding="utf-8")
    apply(card, tmp_path / "root", tmp_path / "run", kept=kept)
    assert kept.read_text(encoding="utf-8") == GOOD
    assert kept.stat().st_mode & 0o777 == 0o600  # it holds the Wi-Fi password and the token

    card.unlink()  # the partition did not mount: its folder is empty
    result = apply(card, tmp_path / "root", tmp_path / "run2", kept=kept)
    assert result.server_ready, "the agent must still phone home"
    assert load_config(tmp_path / "run2" / RUNTIME_CONFIG).server.token == "tok-123"
    assert "cannot be read" in result.problems[0] and "last boot" in result.problems[0]
    assert json.loads((tmp_path / "run2" / PROBLEMS).read_text())["problems"][0] == result.problems[0]


def test_without_a_kept_copy_a_missing_file_still_boots_with_defaults(tmp_path: Path) -> None:
    result = apply(tmp_path / "boot" / "piclient.yaml", tmp_path / "root", tmp_path / "run",
                   kept=tmp_path / "state" / "piclient.yaml")
    assert not result.server_ready
    assert "not on the boot partition" in result.problems[0]
    assert not (tmp_path / "state" / "piclient.yaml").exists()
