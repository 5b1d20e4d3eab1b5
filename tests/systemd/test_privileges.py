"""What the agent may do as root: the polkit rule (run by node, the same ECMAScript polkitd runs) and
the journal reader behind piclient-journal.socket (run for real)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.systemd.units import SYSTEMD_DIR

RULE = SYSTEMD_DIR / "49-piclient.rules"

# polkitd's own API, as much of it as a rule file touches: addRule, Result and action.lookup().
HARNESS = """
const fs = require("fs");
const rules = [];
const polkit = {Result: {YES: "yes", NO: "no", NOT_HANDLED: null}, addRule: (f) => rules.push(f)};
new Function("polkit", fs.readFileSync(process.argv[1], "utf8"))(polkit);
const out = JSON.parse(process.argv[2]).map(([user, id, details]) => {
  const action = {id, lookup: (k) => details[k]};
  for (const rule of rules) { const r = rule(action, {user}); if (r !== null && r !== undefined) return r; }
  return null;
});
console.log(JSON.stringify(out));
"""

CASES = [
    (("piclient", "org.freedesktop.systemd1.manage-units", {"unit": "piclient-tv.service", "verb": "restart"}), "yes"),
    (("piclient", "org.freedesktop.systemd1.manage-units", {"unit": "piclient-tv.service", "verb": "start"}), "yes"),
    (("piclient", "org.freedesktop.login1.reboot", {}), "yes"),
    (("piclient", "org.freedesktop.systemd1.manage-units", {"unit": "piclient-tv.service", "verb": "stop"}), None),
    (("piclient", "org.freedesktop.systemd1.manage-units", {"unit": "ssh.service", "verb": "restart"}), None),
    (("piclient", "org.freedesktop.systemd1.manage-unit-files", {}), None),
    (("piclient", "org.freedesktop.login1.power-off", {}), None),
    (("piclient", "org.freedesktop.login1.reboot-ignore-inhibit", {}), None),
    (("nobody", "org.freedesktop.login1.reboot", {}), None),
    (("nobody", "org.freedesktop.systemd1.manage-units", {"unit": "piclient-tv.service", "verb": "restart"}), None),
]


def test_the_polkit_rule_lets_the_agent_restart_the_tv_and_reboot_and_nothing_else() -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("node is not installed: the rule's JavaScript cannot be run here")
    done = subprocess.run([node, "-e", HARNESS, str(RULE), json.dumps([case for case, _ in CASES])],
                          capture_output=True, text=True, timeout=60, check=True)
    answers = json.loads(done.stdout)
    for (case, expected), answer in zip(CASES, answers, strict=True):
        assert answer == expected, case


def test_the_rule_uses_only_what_polkitds_older_javascript_engine_knows() -> None:
    # polkitd 122 (bookworm) runs rules on duktape (ES5): no arrow functions, let/const or template strings.
    text = RULE.read_text()
    for modern in ("=>", "let ", "const ", "`"):
        assert modern not in text


@pytest.fixture
def unit_journal() -> str:
    return str(SYSTEMD_DIR / "libexec" / "unit-journal")


def _ask(script: str, line: str, journalctl: str = "journalctl") -> subprocess.CompletedProcess[str]:
    return subprocess.run([script], input=line, capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": "/usr/bin:/bin", "JOURNALCTL": journalctl})


@pytest.mark.parametrize("line", ["", "abc\n", "10; reboot\n", "-5\n", "1 --unit=ssh.service\n",
                                  "999999999\n", "$(id)\n"])
def test_the_journal_reader_refuses_anything_but_a_number_of_seconds(unit_journal: str, line: str) -> None:
    done = _ask(unit_journal, line, journalctl="/bin/false")
    assert done.returncode == 2
    assert "unit-journal:" in done.stderr


def test_the_journal_reader_asks_journalctl_for_the_piclient_units_only(unit_journal: str, tmp_path) -> None:
    echo = tmp_path / "journalctl"
    echo.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    echo.chmod(0o755)
    done = _ask(unit_journal, "3600\n", journalctl=str(echo))
    assert done.returncode == 0, done.stderr
    args = done.stdout.split("\n")
    assert "--since=-3600s" in args and "--no-pager" in args
    assert {a for a in args if a.startswith("--unit=")} == {
        "--unit=piclient-tv.service", "--unit=piclient-agent.service", "--unit=piclient-boot-config.service",
        "--unit=piclient-grow-data.service"}


def test_the_journal_reader_runs_the_real_journalctl(unit_journal: str) -> None:
    if not shutil.which("journalctl"):
        pytest.skip("journalctl is not installed")
    done = _ask(unit_journal, "60\n")
    # No journal in this container is fine ("No entries"); a refused argument would not be.
    assert done.returncode in (0, 1), done.stderr
    assert "unrecognized option" not in done.stderr and "Failed to parse" not in done.stderr
