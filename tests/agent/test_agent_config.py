"""The server and agent sections of the config: safe URLs, a secret token, documented keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from piclient.agent.main import run_agent
from piclient.config import ConfigError, dump_effective, parse_config
from piclient.config.schema import AgentConfig, ServerConfig

ROOT = Path(__file__).resolve().parents[2]


def test_https_is_accepted_and_a_trailing_slash_dropped() -> None:
    config = parse_config("server:\n  url: https://tv.example.org/piclient/\n  token: abc\n")
    assert config.server.url == "https://tv.example.org/piclient"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_plain_http_is_allowed_to_this_machine(host: str) -> None:
    assert parse_config(f"server:\n  url: http://{host}:8080\n").server.url == f"http://{host}:8080"


def test_plain_http_elsewhere_needs_allow_http() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config("server:\n  url: http://nas.local:8080\n")
    assert "use https or set allow_http: true" in error.value.problems[0]
    assert parse_config("server:\n  url: http://nas.local:8080\n  allow_http: true\n").server.allow_http


def test_other_schemes_and_tokens_with_spaces_are_refused_with_the_key_named() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config("server:\n  url: ftp://tv.example.org\n  token: two words\n")
    problems = "\n".join(error.value.problems)
    assert "server.url: use an https:// URL" in problems
    assert "server.token: the token has spaces" in problems


def test_the_token_is_masked_when_the_config_is_shown() -> None:
    config = parse_config("server:\n  url: https://tv.example.org\n  token: s3cret-token\n")
    assert "s3cret-token" not in dump_effective(config)
    assert "s3cret-token" not in repr(config)


def test_commands_are_argv_lists_not_shell_lines() -> None:
    with pytest.raises(ConfigError):
        parse_config("agent:\n  reboot_command: ['']\n")
    with pytest.raises(ConfigError):
        parse_config("agent:\n  reboot_command: systemctl reboot\n")
    config = parse_config("agent:\n  restart_tv_command: [sudo, systemctl, restart, piclient-tv.service]\n")
    assert config.agent.restart_tv_command[0] == "sudo"


def test_every_server_and_agent_key_is_documented_in_the_example_config() -> None:
    example = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    for section, model in (("server", ServerConfig), ("agent", AgentConfig)):
        assert f"\n{section}:\n" in example
        for key in model.model_fields:
            assert f"\n  {key}:" in example, f"{section}.{key} is not in config.example.yaml"


def test_the_agent_refuses_to_start_without_a_server() -> None:
    assert run_agent(parse_config("")) == 2


def test_an_empty_command_means_the_box_does_not_offer_it() -> None:
    assert parse_config("agent:\n  reboot_command: []\n").agent.reboot_command == []


def test_log_file_takes_one_path_or_several() -> None:
    assert parse_config("agent:\n  log_file: /var/log/tv.log\n").agent.log_file == ["/var/log/tv.log"]
    assert parse_config("agent:\n  log_file: [a.log, b.log]\n").agent.log_file == ["a.log", "b.log"]
    assert parse_config("agent:\n  log_file: ''\n").agent.log_file == []
