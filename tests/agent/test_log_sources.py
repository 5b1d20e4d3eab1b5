"""Where uploaded logs come from: the journal of the piclient units, or the tail of a file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from piclient.agent.commands import CommandFailed
from piclient.agent.logupload import FileSource, JournalSource


def fake_journalctl(tmp_path: Path, body: str) -> str:
    script = tmp_path / "journalctl"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return str(script)


def test_the_journal_is_asked_for_the_units_and_the_time_span(tmp_path: Path) -> None:
    journalctl = fake_journalctl(tmp_path, "print(' '.join(sys.argv[1:]))")
    text = JournalSource(["piclient-tv.service", "piclient-agent.service"], journalctl).read(3600, 10_000)
    assert text.decode().split() == ["--no-pager", "--output=short-iso-precise", "--since=-3600s",
                                     "--unit=piclient-tv.service", "--unit=piclient-agent.service"]


def test_only_the_most_recent_bytes_of_a_long_journal_are_kept(tmp_path: Path) -> None:
    journalctl = fake_journalctl(tmp_path, "sys.stdout.write(''.join(f'line {n}\\n' for n in range(100000)))")
    text = JournalSource(["u"], journalctl).read(60, 1000)
    assert len(text) == 1000 and text.endswith(b"line 99999\n")


def test_a_failing_or_missing_journalctl_is_a_command_error(tmp_path: Path) -> None:
    failing = fake_journalctl(tmp_path, "print('No journal files were found.'); sys.exit(1)")
    with pytest.raises(CommandFailed, match="No journal files"):
        JournalSource(["u"], failing).read(60, 1000)
    with pytest.raises(CommandFailed, match="set agent.log_file"):
        JournalSource(["u"], str(tmp_path / "nothing-here")).read(60, 1000)


def test_a_log_file_gives_its_tail(tmp_path: Path) -> None:
    log = tmp_path / "tv.log"
    log.write_bytes(b"old\n" * 1000 + b"newest line\n")
    assert FileSource(log).read(3600, 12) == b"newest line\n"
    with pytest.raises(CommandFailed, match="cannot read"):
        FileSource(tmp_path / "missing.log").read(3600, 100)


def test_a_journal_that_does_not_exist_is_not_sent_as_if_it_were_logs(tmp_path: Path) -> None:
    empty = fake_journalctl(tmp_path, "print('No journal files were found.')")
    with pytest.raises(CommandFailed, match="no journal"):
        JournalSource(["u"], empty).read(60, 1000)


def test_several_log_files_each_give_their_tail_under_their_name(tmp_path: Path) -> None:
    (tmp_path / "agent.log").write_bytes(b"a\n" * 5000 + b"agent's last line\n")
    (tmp_path / "tv.log").write_bytes(b"t\n" * 5000 + b"tv's last line\n")
    text = FileSource(tmp_path / "agent.log", tmp_path / "tv.log", tmp_path / "gone.log").read(3600, 3000)
    assert len(text) <= 3000
    assert f"==> {tmp_path / 'agent.log'} <==".encode() in text and b"agent's last line\n" in text
    assert b"tv's last line\n" in text and b"gone.log" not in text
    with pytest.raises(CommandFailed, match="cannot read"):
        FileSource(tmp_path / "gone.log", tmp_path / "also-gone.log").read(3600, 100)


@pytest.fixture
def journal_socket(tmp_path: Path):
    """piclient-journal.socket as systemd runs it (Accept=yes): each connection gets the real
    unit-journal script with the connection as its stdin and stdout; journalctl echoes its arguments."""
    import socket
    import subprocess
    import tempfile
    import threading

    from tests.systemd.units import SYSTEMD_DIR

    echo = fake_journalctl(tmp_path, "print('\\n'.join(sys.argv[1:]))")
    folder = tempfile.TemporaryDirectory(prefix="jrn-")
    path = Path(folder.name) / "journal.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(2)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                subprocess.run([str(SYSTEMD_DIR / "libexec" / "unit-journal")], stdin=conn, stdout=conn,
                               stderr=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "JOURNALCTL": echo},
                               timeout=60, check=False)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    server.close()
    thread.join(timeout=5)
    folder.cleanup()


def test_on_the_box_the_journal_comes_through_the_root_helpers_socket(journal_socket: Path,
                                                                      tmp_path: Path) -> None:
    from piclient.agent.logupload import SocketJournalSource

    unused = JournalSource(["u"], str(tmp_path / "nothing-here"))
    lines = SocketJournalSource(journal_socket, unused).read(7200.7, 10_000).decode().split("\n")
    assert "--since=-7200s" in lines
    assert "--unit=piclient-tv.service" in lines and "--unit=piclient-agent.service" in lines


def test_without_the_socket_the_agent_reads_the_journal_itself(tmp_path: Path) -> None:
    from piclient.agent.logupload import SocketJournalSource

    journalctl = fake_journalctl(tmp_path, "print('direct')")
    source = SocketJournalSource(tmp_path / "absent.sock", JournalSource(["u"], journalctl))
    assert source.read(60, 100) == b"direct\n"
