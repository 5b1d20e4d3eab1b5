"""Publishing a bundle, offering it to one box then all, and the resumable, checked download."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from tests.server.helpers import RunningServer, login
from tests.update.versions import build_bundle


def _cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "piclient.server.cli", *args, "--data", str(server.data_dir),
                           "--database", server.database_url], capture_output=True, text=True, timeout=120)


def _heartbeat(server: RunningServer, token: str, version: str = "1.0") -> dict:
    reply = requests.post(f"{server.url}/api/v1/heartbeat", headers={"Authorization": f"Bearer {token}"},
                          json={"id": hashlib.sha256(version.encode() + token.encode()).hexdigest()[:32],
                                "sent_at": 1.0, "device": {"name": "x", "version": version}}, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_bundle_offered_to_one_box_reaches_that_box_only_then_all(server: RunningServer, tmp_path: Path) -> None:
    first, first_token = server.add_device()
    _, other_token = server.add_device()
    version = f"2.{tmp_path.name[-6:].strip('_').replace('_', '')}"
    path, sha = build_bundle(tmp_path, version)
    done = _cli(server, "publish-bundle", str(path), "--offer", first)
    assert done.returncode == 0, done.stderr
    offer = _heartbeat(server, first_token)["update"]
    assert offer["version"] == version and offer["sha256"] == sha and offer["size"] == path.stat().st_size
    assert offer["signature"]
    assert "update" not in _heartbeat(server, other_token)
    assert _cli(server, "offer", version, "--all").returncode == 0
    assert _heartbeat(server, other_token)["update"]["version"] == version

    url = f"{server.url}{offer['url']}"
    headers = {"Authorization": f"Bearer {first_token}"}
    whole = requests.get(url, headers=headers, timeout=30)
    assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == sha
    rest = requests.get(url, headers={**headers, "Range": "bytes=100-"}, timeout=30)
    assert rest.status_code == 206 and rest.content == whole.content[100:]


def test_the_signature_verifies_with_the_servers_public_key(server: RunningServer, tmp_path: Path) -> None:
    from piclient.update import signing

    name, token = server.add_device()
    path, sha = build_bundle(tmp_path, "3.0.sig")
    assert _cli(server, "publish-bundle", str(path), "--offer", name).returncode == 0
    key = _cli(server, "update-key").stdout.strip()
    signing.verify(key, sha, _heartbeat(server, token)["update"]["signature"])


def test_a_box_not_offered_a_version_cannot_download_it(server: RunningServer, tmp_path: Path) -> None:
    _, token = server.add_device()
    path, _ = build_bundle(tmp_path, "4.0")
    assert _cli(server, "publish-bundle", str(path)).returncode == 0
    reply = requests.get(f"{server.url}/api/v1/bundles/4.0", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert reply.status_code == 404


def test_a_damaged_bundle_is_refused_with_a_reason(server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "broken.bundle"
    path.write_bytes(b"not a tar at all")
    done = _cli(server, "publish-bundle", str(path))
    assert done.returncode == 1 and "not a bundle" in done.stderr


def test_the_same_version_with_other_contents_is_refused(server: RunningServer, tmp_path: Path) -> None:
    path, _ = build_bundle(tmp_path / "a", "5.0", "good")
    assert _cli(server, "publish-bundle", str(path)).returncode == 0
    other, _ = build_bundle(tmp_path / "b", "5.0", "tv-crashes")
    done = _cli(server, "publish-bundle", str(other))
    assert done.returncode == 1 and "already published" in done.stderr


def test_offering_to_an_unknown_device_says_so(server: RunningServer, tmp_path: Path) -> None:
    path, _ = build_bundle(tmp_path, "6.0")
    assert _cli(server, "publish-bundle", str(path)).returncode == 0
    done = _cli(server, "offer", "6.0", "--device", "nobody-here")
    assert done.returncode == 1 and "nobody-here" in done.stderr


def test_the_box_resumes_a_broken_download_and_hands_the_checked_bundle_over(server: RunningServer,
                                                                             tmp_path: Path) -> None:
    from piclient.update import download, runner, status

    path, sha, layout, offer, session = _offered_box(server, tmp_path, "7.0")
    # A power cut after the first 1000 bytes: the rest is asked for with Range.
    (layout.incoming / f"{sha}.part").write_bytes(path.read_bytes()[:1000])
    assert download.take_offer(session, server.url, offer, layout, running="1.0")
    request = runner.Request.load(layout.request)
    assert request is not None and request.sha256 == sha and request.bundle.read_bytes() == path.read_bytes()
    assert status.read(layout.status)["state"] == "downloading"
    assert not download.take_offer(session, server.url, offer, layout, running="1.0")  # one under way already


def test_a_download_that_does_not_match_its_hash_is_thrown_away(server: RunningServer, tmp_path: Path) -> None:
    from piclient.update import download, status

    _, sha, layout, offer, session = _offered_box(server, tmp_path, "8.0")
    (layout.incoming / f"{sha}.part").write_bytes(b"\0" * 1000)  # a corrupt start is resumed, then caught
    assert not download.take_offer(session, server.url, offer, layout, running="1.0")
    assert "SHA-256" in status.read(layout.status)["reason"]
    assert not (layout.incoming / f"{sha}.part").exists() and not layout.request.exists()


def _offered_box(server: RunningServer, tmp_path: Path, version: str) -> tuple[Path, str, Any, dict, Any]:
    """A published bundle offered to a new device, and that device's update folder and session."""
    from piclient.agent.transport import new_session
    from piclient.update import download
    from piclient.update.layout import Layout

    name, token = server.add_device()
    path, sha = build_bundle(tmp_path, version)
    assert _cli(server, "publish-bundle", str(path), "--offer", name).returncode == 0
    offer = download.parse_offer(_heartbeat(server, token)["update"])
    assert offer is not None
    layout = Layout(root=tmp_path / "box")
    layout.incoming.mkdir(parents=True)
    return path, sha, layout, offer, new_session(server.url, token)


def _dashboard_publish(server: RunningServer, session: requests.Session, csrf: str,
                       upload_url: str) -> requests.Response:
    return session.post(f"{server.url}/api/dash/updates/publish", json={"upload": upload_url.rsplit("/", 1)[-1]},
                        headers={"X-CSRF-Token": csrf}, timeout=60)


def test_a_bundle_upload_cut_halfway_resumes_and_is_published_as_the_cli_would(server: RunningServer,
                                                                               tmp_path: Path) -> None:
    from tusclient import client as tus

    session, csrf = login(server)
    headers = {"X-CSRF-Token": csrf, "Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items())}
    version = f"7.{tmp_path.name[-6:].strip('_').replace('_', '')}"
    path, sha = build_bundle(tmp_path, version)
    first = tus.TusClient(f"{server.url}/api/v1/uploads/", headers=headers).uploader(
        str(path), chunk_size=1024, metadata={"filename": path.name, "kind": "bundle"})
    first.upload(stop_at=2048)  # the phone lost its signal
    early = _dashboard_publish(server, session, csrf, first.url)
    assert early.status_code == 409 and "not arrived whole" in early.json()["error"]
    # An update on its way is not a film on its way: the library page's list leaves it out.
    assert path.name not in session.get(f"{server.url}/api/dash/library/jobs", timeout=10).json()["html"]
    again = tus.TusClient(f"{server.url}/api/v1/uploads/", headers=headers).uploader(
        str(path), chunk_size=64 * 1024, url=first.url)
    assert again.offset == 2048
    again.upload()
    reply = _dashboard_publish(server, session, csrf, first.url)
    assert reply.status_code == 200, reply.text
    assert reply.json()["version"] == version and reply.json()["sha256"] == sha
    signed = hashlib.sha256((server.data_dir / "bundles" / f"piclient-{version}-{sha[:12]}.bundle").read_bytes())
    assert signed.hexdigest() == sha
    # Published once: the upload's copy is gone, so a second publish of it says so.
    assert _dashboard_publish(server, session, csrf, first.url).status_code == 409


def _tus_upload(server: RunningServer, csrf: str, session: requests.Session, data: bytes, **meta: str) -> str:
    created = session.post(f"{server.url}/api/v1/uploads/", timeout=10, headers={
        "Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf, "Upload-Length": str(len(data)),
        "Upload-Metadata": ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())})
    assert created.status_code == 201, created.text
    url = server.url + created.headers["Location"]
    sent = session.patch(url, data=data, timeout=30, headers={
        "Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf, "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    assert sent.status_code == 204, sent.text
    return url


def test_an_uploaded_bundle_is_refused_as_the_cli_refuses_it(server: RunningServer, tmp_path: Path) -> None:
    session, csrf = login(server)
    junk = _tus_upload(server, csrf, session, b"not a tar at all", filename="junk.bundle", kind="bundle")
    reply = _dashboard_publish(server, session, csrf, junk)
    assert reply.status_code == 422 and "junk.bundle: not a bundle" in reply.json()["error"]
    assert "cannot be published" in reply.json()["error"]

    version = f"8.{tmp_path.name[-6:].strip('_').replace('_', '')}"
    path, _ = build_bundle(tmp_path / "a", version, "good")
    assert _cli(server, "publish-bundle", str(path)).returncode == 0
    other, _ = build_bundle(tmp_path / "b", version, "tv-crashes")
    twin = _tus_upload(server, csrf, session, other.read_bytes(), filename=other.name, kind="bundle")
    reply = _dashboard_publish(server, session, csrf, twin)
    assert reply.status_code == 422 and "already published with other contents" in reply.json()["error"]


def test_a_bundle_upload_must_be_a_bundle_and_only_bundles_are_published(server: RunningServer) -> None:
    session, csrf = login(server)
    meta = f"filename {base64.b64encode(b'film.mkv').decode()},kind {base64.b64encode(b'bundle').decode()}"
    wrong = session.post(f"{server.url}/api/v1/uploads/", timeout=10, headers={
        "Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf, "Upload-Length": "10", "Upload-Metadata": meta})
    assert wrong.status_code == 400 and ".bundle" in wrong.json()["error"]
    film = _tus_upload(server, csrf, session, b"0123456789", filename="film.mkv")
    assert _dashboard_publish(server, session, csrf, film).status_code == 404
    no_csrf = session.post(f"{server.url}/api/dash/updates/publish", json={"upload": film.rsplit("/", 1)[-1]},
                           timeout=10)
    assert no_csrf.status_code == 403
