"""Tiny but real versions to update between: a wheel of a one-module package whose ``piclient`` command
behaves as a good or a broken release would. Built as real wheels, installed by the real pip."""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path

from piclient.update import bundle

# The fake launcher speaks the control socket's wire format (one JSON line each way) and answers
# only after its "first frame", as the real one does; the fake agent writes the same proof-of-life
# file piclient.update.alive writes.
MODULE = '''
import json, os, signal, socket, sys, time

VERSION = {version!r}
BEHAVIOUR = {behaviour!r}


def tv():
    print(f"tinybox {{VERSION}} launcher starting", flush=True)
    if BEHAVIOUR == "tv-crashes":
        raise RuntimeError("the launcher crashed at start (test)")
    if BEHAVIOUR == "tv-hangs":
        while True:
            time.sleep(1)
    path = os.environ["PICLIENT_TEST_SOCKET"]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    while True:
        conn, _ = server.accept()
        with conn:
            conn.makefile("rb").readline()
            conn.sendall(json.dumps({{"ok": True, "version": VERSION}}).encode() + b"\\n")


def agent():
    print(f"tinybox {{VERSION}} agent starting", flush=True)
    if BEHAVIOUR == "agent-crashes":
        raise RuntimeError("the agent crashed at start (test)")
    alive = os.environ["PICLIENT_TEST_ALIVE"]
    os.makedirs(alive, exist_ok=True)
    while True:
        tmp = os.path.join(alive, f".{{VERSION}}.tmp")
        with open(tmp, "w") as handle:
            json.dump({{"version": VERSION, "at": time.time(), "tv_running": True}}, handle)
        os.replace(tmp, os.path.join(alive, f"{{VERSION}}.json"))
        time.sleep(0.2)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    {{"tv": tv, "agent": agent}}[sys.argv[1]]()
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(out_dir: Path, version: str, behaviour: str = "good") -> Path:
    dist = f"tinybox-{version}.dist-info"
    files = {
        "tinybox/__init__.py": MODULE.format(version=version, behaviour=behaviour).encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: tinybox\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": b"[console_scripts]\npiclient = tinybox:main\n",
    }
    record = [_record_line(name, data) for name, data in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"tinybox-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def build_bundle(out_dir: Path, version: str, behaviour: str = "good") -> tuple[Path, str]:
    wheel = build_wheel(out_dir / f"wheels-{version}", version, behaviour)
    path = out_dir / f"tinybox-{version}.bundle"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    bundle.build([wheel], path, version=version, requirement=f"tinybox=={version}", python=python,
                 platform_tag="any")
    return path, bundle.sha256_file(path)
