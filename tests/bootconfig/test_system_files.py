"""The `system:` section becomes the files Debian reads: Wi-Fi, host name, locale, time zone, SSH."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from piclient.bootconfig.system import AUTHORIZED_KEYS, SSH_FLAG, WPA_CONF, system_files, wpa_psk
from piclient.config import ConfigError, parse_config
from piclient.config.schema import IMAGE_LOCALES

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsomebase64keymaterialxxxxxxxxxxxxxxxxxxxxxx son@laptop"


def _system(yaml_text: str):
    return parse_config(yaml_text).system


def test_a_home_network_becomes_a_wpa_supplicant_file_with_the_derived_key() -> None:
    files = system_files(_system('system:\n  wifi: {country: kr, ssid: "우리집 WiFi", password: "correct horse"}\n'))
    conf = files[WPA_CONF]
    assert conf.mode == 0o600  # the key is as good as the password
    assert "country=KR" in conf.content
    assert f"ssid={'우리집 WiFi'.encode().hex()}" in conf.content
    assert f"psk={wpa_psk('우리집 WiFi', 'correct horse')}" in conf.content
    assert "correct horse" not in conf.content


def test_the_derived_key_is_what_wpa_passphrase_computes() -> None:
    # IEEE 802.11i test vector (password "password", SSID "IEEE").
    assert wpa_psk("IEEE", "password") == "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e"
    if shutil.which("wpa_passphrase"):
        out = subprocess.run(["wpa_passphrase", "home", "a quote \" inside"], capture_output=True, text=True).stdout
        assert re.search(r"\n\s*psk=([0-9a-f]{64})", out).group(1) == wpa_psk("home", 'a quote " inside')


def test_an_open_network_and_a_hidden_one() -> None:
    conf = system_files(_system("system:\n  wifi: {country: DE, ssid: Cafe, hidden: true}\n"))[WPA_CONF].content
    assert "key_mgmt=NONE" in conf and "scan_ssid=1" in conf


def test_no_ssid_means_cable_only_and_no_network_block() -> None:
    assert "network={" not in system_files(_system(""))[WPA_CONF].content


def test_host_name_locale_and_time_zone() -> None:
    files = system_files(_system("system:\n  hostname: Mums-TV\n  locale: en_GB.UTF-8\n  timezone: Europe/Berlin\n"))
    assert files["etc/hostname"].content == "mums-tv\n"
    assert "127.0.1.1\tmums-tv" in files["etc/hosts"].content
    assert files["etc/default/locale"].content == "LANG=en_GB.UTF-8\n"
    assert files["etc/localtime"].link == "/usr/share/zoneinfo/Europe/Berlin"


def test_ssh_stays_off_without_a_key_and_comes_on_with_one() -> None:
    assert SSH_FLAG not in system_files(_system(""))
    files = system_files(_system(f"system:\n  ssh_authorized_keys: [{KEY!r}]\n"))
    assert files[AUTHORIZED_KEYS].content == KEY + "\n"
    assert SSH_FLAG in files


@pytest.mark.parametrize(("yaml_text", "expected"), [
    ("system:\n  wifi: {ssid: Home, password: short}\n", "system.wifi.password: a Wi-Fi password has 8 to 63"),
    ("system:\n  wifi: {ssid: Home, password: longenough}\n", "country: set the two-letter country code"),
    ("system:\n  wifi: {country: Korea}\n", "system.wifi.country: use the two-letter country code"),
    ("system:\n  wifi: {country: KR, ssid: " + "x" * 33 + "}\n", "system.wifi.ssid: a Wi-Fi name has at most 32"),
    ("system:\n  wifi: {country: KR, ssid: a, password: \"비밀번호비밀번호\"}\n", "only English letters"),
    ("system:\n  hostname: mum's tv\n", "system.hostname: use letters a-z"),
    ("system:\n  timezone: Seoul\n", "system.timezone: not a known time zone"),
    ("system:\n  timezone: ../../etc/passwd\n", "system.timezone: not a known time zone"),
    ("system:\n  locale: ko_KR\n", "system.locale:"),
    ("system:\n  ssh_authorized_keys: [\"my password\"]\n", "not an OpenSSH public key"),
    ("system:\n  wlan: {}\n", "system.wlan: unknown key"),
])
def test_each_mistake_is_named_with_its_key_and_a_fix(yaml_text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml_text)
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_the_locales_offered_are_the_ones_the_image_generates() -> None:
    script = (Path(__file__).resolve().parents[2] / "image" / "base-finish.sh").read_text()
    generated = re.search(r"for locale in ([^;]+);", script).group(1).split()
    assert sorted(generated) == sorted(IMAGE_LOCALES)


def test_the_wifi_password_is_masked_when_the_config_is_shown() -> None:
    from piclient.config import dump_effective

    shown = dump_effective(parse_config("system:\n  wifi: {country: KR, ssid: a, password: topsecret1}\n"))
    assert "topsecret1" not in shown
