"""`piclient config check/show`: every problem at once, each with its key and what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from piclient.config import ConfigError, effective_config, load_config, parse_config
from piclient.config.loader import _mask
from piclient.remote.buttons import Button

ROOT = Path(__file__).resolve().parents[2]


def piclient(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "piclient", *args], capture_output=True, text=True, timeout=60,
                          check=False)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value.problems


def test_the_example_config_is_valid_and_all_defaults() -> None:
    assert load_config(ROOT / "config.example.yaml") == parse_config("")


def test_an_empty_file_gives_the_defaults_a_flashed_box_runs_with() -> None:
    config = parse_config("")
    assert str(config.paths.data) == "/var/lib/piclient"
    assert str(config.paths.socket) == "/run/piclient/tv.sock"
    assert (config.ui.language, config.cec.enabled, config.cec.wake_tv) == ("ko", True, False)


def test_every_error_is_reported_at_once_with_its_key() -> None:
    found = problems("ui:\n  language: fr\n  dim_after_seconds: -5\ncec:\n  enabled: maybe\ndevice:\n  name: ''\n")
    keys = sorted(p.split(":")[0] for p in found)
    assert keys == ["cec.enabled", "device.name", "ui.dim_after_seconds", "ui.language"]
    assert any("'ko' or 'en'" in p for p in found)
    assert any("true or false" in p for p in found)


def test_a_misspelt_key_suggests_the_right_one() -> None:
    found = problems("ui:\n  langauge: en\ncatalg:\n  source: x\n")
    assert "ui.langauge: unknown key (did you mean ui.language?); remove it or fix the spelling" in found
    assert any(p.startswith("catalg: unknown key (did you mean catalog?)") for p in found)


def test_yaml_that_does_not_parse_names_the_line() -> None:
    assert problems("ui:\n  language: [ko\n")[0].startswith("(file): not valid YAML at line")


def test_yaml_tags_cannot_build_objects() -> None:
    found = problems("device:\n  name: !!python/object/apply:os.system ['true']\n")
    assert "not valid YAML" in found[0]


def test_a_catalog_source_must_be_a_path_or_http() -> None:
    assert parse_config("catalog:\n  source: https://example.invalid/c.json\n").catalog.source.startswith("https")
    assert any("http" in p for p in problems("catalog:\n  source: ftp://host/c.json\n"))


def test_overscan_is_a_percentage_from_0_to_10() -> None:
    assert parse_config("ui: {overscan_percent: 2.5}").ui.overscan_percent == 2.5
    for bad in ("-1", "11", "lots"):
        found = problems(f"ui: {{overscan_percent: {bad}}}")
        assert [p.split(":")[0] for p in found] == ["ui.overscan_percent"], found


def test_remote_overrides_accept_hex_codes_and_any_case() -> None:
    config = parse_config("remote:\n  cec: {'0x91': back, 113: RED}\n  keyboard: {F5: info}\n")
    assert config.remote.cec == {0x91: Button.BACK, 113: Button.RED}
    assert config.remote.keyboard == {"f5": Button.INFO}
    assert any("0x00 to 0xFF" in p for p in problems("remote:\n  cec: {'0x1FF': back}\n"))
    assert any(p.startswith("remote.keyboard.f5") for p in problems("remote:\n  keyboard: {f5: jump}\n"))


def test_secrets_are_masked_in_the_effective_config() -> None:
    data = effective_config(parse_config(""))
    data["server"] = {"token": "s3cret"}
    _mask(data, ["server", "token"])
    assert data["server"]["token"] == "********"


def test_config_check_prints_every_problem_and_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("ui:\n  language: fr\ncec:\n  wake_tv: 3\n", encoding="utf-8")
    result = piclient("config", "check", str(path))
    assert result.returncode == 2
    assert "2 problem(s)" in result.stderr
    assert "ui.language:" in result.stderr and "cec.wake_tv:" in result.stderr


def test_config_check_of_a_missing_file_says_so(tmp_path: Path) -> None:
    result = piclient("config", "check", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "not found" in result.stderr


def test_config_show_prints_the_effective_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("device:\n  name: 엄마네 TV\n", encoding="utf-8")
    result = piclient("config", "show", str(path))
    assert result.returncode == 0, result.stderr
    assert "name: 엄마네 TV" in result.stdout and "wake_tv: false" in result.stdout
