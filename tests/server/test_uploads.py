"""tus 1.0 uploads: resumable from the last byte on disk, never queued half-done, maintainers only."""

from __future__ import annotations

import base64
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from tusclient import client as tus

from piclient.server.maintainers import add_token, revoke_token
from tests.server.helpers import RunningServer
from tests.waiting import wait_until

TUS = {"Tus-Resumable": "1.0.0"}


def _token(server: RunningServer, name: str) -> str:
    return server.db.write_sync(add_token, f"{name}-{os.urandom(4).hex()}")


def _meta(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def test_the_server_says_what_tus_it_speaks(server: RunningServer) -> None:
    reply = requests.options(f"{server.url}/api/v1/uploads/", timeout=10)
    assert reply.status_code == 204
    assert reply.headers["Tus-Version"] == "1.0.0" and reply.headers["Tus-Extension"] == "creation,termination"


def test_an_upload_cut_in_the_middle_resumes_with_tuspy_and_is_byte_identical(server: RunningServer,
                                                                             tmp_path: Path) -> None:
    token = _token(server, "laptop")
    data = os.urandom(3 * 1024 * 1024 + 123)
    film = tmp_path / "film.mkv"
    film.write_bytes(data)
    headers = {"Authorization": f"Bearer {token}"}
    first = tus.TusClient(f"{server.url}/api/v1/uploads/", headers=headers).uploader(
        str(film), chunk_size=256 * 1024, metadata={"filename": "film.mkv"})
    first.upload(stop_at=1024 * 1024)  # the laptop is closed after a third
    upload_id = first.url.rsplit("/", 1)[-1]
    assert requests.get(f"{first.url}/job", headers=headers, timeout=10).status_code == 404
    assert not (server.data_dir / "incoming" / upload_id).exists()  # nothing half-uploaded is packaged

    # Then a PATCH is cut mid-body by the link itself: the bytes that arrived stay.
    _cut_patch(first.url, token, offset=1024 * 1024, body=data[1024 * 1024: 1024 * 1024 + 200_000], declared=500_000)
    wait_until(lambda: _offset(first.url, token) == 1024 * 1024 + 200_000, timeout=15, what="the cut bytes kept")

    again = tus.TusClient(f"{server.url}/api/v1/uploads/", headers=headers).uploader(
        str(film), chunk_size=256 * 1024, url=first.url)
    assert again.offset == 1024 * 1024 + 200_000  # resumed from the server's last byte, not from 0
    again.upload()
    assert (server.data_dir / "incoming" / upload_id / "film.mkv").read_bytes() == data
    job = wait_until(lambda: requests.get(f"{first.url}/job", headers=headers, timeout=10).json(), what="a job")
    assert job["film"] == "film.mkv"


def _offset(url: str, token: str) -> int:
    reply = requests.head(url, headers={**TUS, "Authorization": f"Bearer {token}"}, timeout=10)
    return int(reply.headers["Upload-Offset"])


def _cut_patch(url: str, token: str, *, offset: int, body: bytes, declared: int) -> None:
    """A PATCH that promises ``declared`` bytes, sends ``body`` and drops the connection."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = (f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
                f"Authorization: Bearer {token}\r\nUpload-Offset: {offset}\r\n"
                f"Content-Type: application/offset+octet-stream\r\nContent-Length: {declared}\r\n\r\n")
        sock.sendall(head.encode() + body)


def test_an_offset_that_is_not_the_servers_is_refused(server: RunningServer) -> None:
    token = _token(server, "phone")
    auth = {**TUS, "Authorization": f"Bearer {token}"}
    created = requests.post(f"{server.url}/api/v1/uploads/", timeout=10, headers={
        **auth, "Upload-Length": "10", "Upload-Metadata": _meta(filename="a.mkv")})
    assert created.status_code == 201
    url = server.url + created.headers["Location"]
    reply = requests.patch(url, data=b"12345", timeout=10, headers={
        **auth, "Upload-Offset": "3", "Content-Type": "application/offset+octet-stream"})
    assert reply.status_code == 409 and _offset(url, token) == 0
    assert requests.delete(url, headers=auth, timeout=10).status_code == 204
    assert requests.head(url, headers=auth, timeout=10).status_code == 404


@pytest.mark.parametrize("who", ["nobody", "a box", "a revoked maintainer", "a wrong filename"])
def test_only_maintainers_upload_and_filenames_are_plain(server: RunningServer, who: str) -> None:
    headers = {**TUS, "Upload-Length": "10", "Upload-Metadata": _meta(filename="a.mkv")}
    if who == "a box":
        headers["Authorization"] = f"Bearer {server.add_device()[1]}"
    elif who == "a revoked maintainer":
        name = f"old-{os.urandom(4).hex()}"
        token = server.db.write_sync(add_token, name)
        server.db.write_sync(revoke_token, name)
        headers["Authorization"] = f"Bearer {token}"
    elif who == "a wrong filename":
        headers.update(Authorization=f"Bearer {_token(server, 'x')}", **{"Upload-Metadata": _meta(filename="../x")})
    reply = requests.post(f"{server.url}/api/v1/uploads/", headers=headers, timeout=10)
    assert reply.status_code == (400 if who == "a wrong filename" else 401)


def test_a_maintainer_token_is_printed_once_stored_hashed_and_revocable(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = tmp_path / "data"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "piclient", "server", *args, "--data", str(data)],
                              capture_output=True, text=True, timeout=120)

    added = cli("add-maintainer-token", "laptop")
    assert added.returncode == 0
    token = added.stdout.split("\n\n")[1].strip()
    assert len(token) > 40
    assert token.encode() not in (data / "piclient.db").read_bytes()
    assert cli("add-maintainer-token", "laptop").returncode == 1  # one name, one token
    assert cli("revoke-maintainer-token", "laptop").returncode == 0
    again = cli("revoke-maintainer-token", "laptop")
    assert again.returncode == 1 and "no active maintainer token" in again.stderr


def test_a_subtitle_that_names_its_film_goes_into_the_films_job(server: RunningServer) -> None:
    auth = {**TUS, "Authorization": f"Bearer {_token(server, 'phone')}"}

    def create(data: bytes, **meta: str) -> str:
        reply = requests.post(f"{server.url}/api/v1/uploads/", timeout=10, headers={
            **auth, "Upload-Length": str(len(data)), "Upload-Metadata": _meta(**meta)})
        assert reply.status_code == 201, reply.text
        return server.url + reply.headers["Location"]

    def send(url: str, data: bytes) -> None:
        reply = requests.patch(url, data=data, timeout=10, headers={
            **auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        assert reply.status_code == 204 and reply.headers["Upload-Offset"] == str(len(data))

    film = create(b"0123456789", filename="Home.mkv", series="Home", episode="2")
    film_id = film.rsplit("/", 1)[-1]
    orphan = requests.post(f"{server.url}/api/v1/uploads/", timeout=10, headers={
        **auth, "Upload-Length": "5", "Upload-Metadata": _meta(filename="Home.srt")})
    assert orphan.status_code == 400 and "names its film" in orphan.json()["error"]
    subtitle = create(b"1\n00:00:01,000 --> 00:00:02,000\nhi\n", filename="Home.srt", film=film_id,
                      subtitle_language="en")
    send(subtitle, b"1\n00:00:01,000 --> 00:00:02,000\nhi\n")
    send(film, b"0123456789")
    job = requests.get(f"{film}/job", headers=auth, timeout=10).json()
    assert job["options"]["series"] == "Home" and job["options"]["episode"] == "2"
    assert [Path(p).name for p in job["options"]["subtitles"]] == ["Home.srt"]
    assert job["options"]["subtitle_languages"] == ["en"]
