"""Per-box limits: image decoding, log uploads nobody asked for, each box's disk quota, a disk that fills up."""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.server.conftest import server_for_module
from tests.server.helpers import (
    RunningServer,
    auth,
    jpeg,
    login,
    running_server,
    send_heartbeat,
    upload_screenshot,
)
from tests.server.test_device_api import device_id_of, queue

CHUNK = 256 * 1024


def noise_jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((width, height), 60).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def put_chunk(server: RunningServer, token: str, upload: str, offset: int, data: bytes) -> requests.Response:
    return requests.put(f"{server.url}/api/v1/logs/{upload}?offset={offset}", data=data, headers=auth(token),
                        timeout=30)


# --- decoding -------------------------------------------------------------------------------------


def test_a_screenshot_claiming_4000_by_4000_is_refused_before_it_is_decoded(server: RunningServer) -> None:
    _, token = server.add_device()
    whole = noise_jpeg(4000, 4000)
    for body in (whole[:200_000], whole[:200_000] + b"\xff\xd9"):  # truncated, and truncated with an end marker
        reply = upload_screenshot(server, token, body)
        assert reply.status_code == 400
        assert "too many pixels" in reply.json()["error"]


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_of(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG of these chunks, each with a right checksum: only what is inside them is wrong."""
    return b"\x89PNG\r\n\x1a\n" + b"".join(struct.pack(">I", len(body)) + kind + body
                                           + struct.pack(">I", zlib.crc32(kind + body)) for kind, body in chunks)


def assert_damaged(reply: requests.Response, detail: str) -> None:
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert "does not decode completely and cleanly" in error and detail in error, error


def test_a_jpeg_cut_short_is_refused_with_or_without_an_end_marker_added(server: RunningServer) -> None:
    _, token = server.add_device()
    whole = noise_jpeg(1280, 720)
    half = whole[: len(whole) // 2]
    assert_damaged(upload_screenshot(server, token, half), "Premature end of JPEG file")
    # libjpeg fills the missing half with grey and only warns; Pillow drops the warning.
    for end in (b"\xff\xd9", b"\xff\xd9\xff\xd9"):
        assert_damaged(upload_screenshot(server, token, half + end), "premature end of data segment")


def test_a_jpeg_with_corrupt_data_is_refused(server: RunningServer) -> None:
    _, token = server.add_device()
    damaged = bytearray(noise_jpeg(1280, 720))
    middle = len(damaged) // 2
    damaged[middle : middle + 64] = bytes(b ^ 0x55 for b in damaged[middle : middle + 64])
    assert_damaged(upload_screenshot(server, token, bytes(damaged)), "Corrupt JPEG data")


def test_a_png_cut_short_or_corrupt_inside_right_checksums_is_refused(server: RunningServer) -> None:
    _, token = server.add_device()
    out = io.BytesIO()
    Image.effect_noise((640, 360), 60).convert("RGB").save(out, "PNG")
    whole = out.getvalue()
    header = png_chunks(whole)[0]
    data = b"".join(body for kind, body in png_chunks(whole) if kind == b"IDAT")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    for body, detail in [
        (whole[: len(whole) // 2], "cut short"),
        (png_of([header, (b"IDAT", data[: len(data) // 2]), (b"IEND", b"")]), "cut short"),
        (png_of([header, (b"IDAT", data[:-4]), (b"IEND", b"")]), "cut short"),  # no zlib checksum: Pillow takes it
        (png_of([header, (b"IDAT", data)]), "ends before its end chunk"),  # no IEND: Pillow takes it
        (png_of([header, (b"IDAT", bytes(flipped)), (b"IEND", b"")]), "corrupt"),
        (png_of([header, (b"IDAT", data + b"more"), (b"IEND", b"")]), "bytes after the end"),
        (whole[:50] + bytes([whole[50] ^ 0xFF]) + whole[51:], "fails its checksum"),
    ]:
        assert_damaged(upload_screenshot(server, token, body, content_type="image/png"), detail)


def test_a_full_hd_jpeg_and_a_png_are_still_welcome(server: RunningServer) -> None:
    _, token = server.add_device()
    assert upload_screenshot(server, token, jpeg(1920, 1080)).status_code == 200
    assert upload_screenshot(server, token, noise_jpeg(1920, 1080)).status_code == 200
    for mode, interlace in (("RGB", 0), ("RGBA", 1), ("I;16", 0)):
        out = io.BytesIO()
        Image.new(mode, (800, 450), 200).save(out, "PNG", interlace=interlace)
        reply = upload_screenshot(server, token, out.getvalue(), content_type="image/png")
        assert reply.status_code == 200, (mode, reply.text)


# --- log uploads ----------------------------------------------------------------------------------


def test_logs_nobody_asked_for_are_refused(server: RunningServer) -> None:
    name, token = server.add_device()
    reply = put_chunk(server, token, "unasked", 0, b"x" * 1000)
    assert reply.status_code == 400
    assert "upload_logs" in reply.json()["error"]
    queue(server, name, "upload_logs")
    assert put_chunk(server, token, "asked", 0, b"x" * 1000).json() == {"received": 1000}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def small_quota(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from server_for_module(request, tmp_path_factory, "--box-quota-mb", "1")


def test_log_bytes_past_the_box_quota_are_a_507_and_not_acknowledged(small_quota: RunningServer) -> None:
    name, token = small_quota.add_device()
    queue(small_quota, name, "upload_logs")
    for offset in range(0, 4 * CHUNK, CHUNK):
        assert put_chunk(small_quota, token, "big", offset, b"x" * CHUNK).status_code == 200
    over = put_chunk(small_quota, token, "big", 4 * CHUNK, b"x")
    assert over.status_code == 507
    assert over.json()["received"] == 4 * CHUNK and "1 MiB" in over.json()["error"]
    # Another box's share is its own.
    other, other_token = small_quota.add_device()
    queue(small_quota, other, "upload_logs")
    assert put_chunk(small_quota, other_token, "big", 0, b"x" * CHUNK).status_code == 200


def test_screenshots_past_the_box_quota_drop_the_box_s_oldest(small_quota: RunningServer) -> None:
    name, token = small_quota.add_device()
    picture = noise_jpeg(960, 540)
    for _ in range(12):
        assert upload_screenshot(small_quota, token, picture).status_code == 200
    device_id = device_id_of(small_quota, name)
    from piclient.server.quota import used

    assert small_quota.db.read_sync(used, device_id) <= 1024 * 1024
    kept = sorted((small_quota.data_dir / "screenshots" / str(device_id)).iterdir())
    assert 1 <= len(kept) < 12
    session, _ = login(small_quota)
    newest = session.get(f"{small_quota.url}/api/dash/devices/{device_id}", timeout=10).json()["device"]["screenshot"]
    assert session.get(small_quota.url + newest["url"], timeout=10).status_code == 200


# --- a disk that fills up -------------------------------------------------------------------------


def test_a_chunk_the_disk_cannot_hold_is_a_507_and_never_acknowledged(tmp_path: Path) -> None:
    # A real short write: the server may not grow any file past 1,000,000 bytes (RLIMIT_FSIZE), so the
    # fourth 256 KiB chunk lands only partly, and the next pwrite fails with EFBIG.
    with running_server(tmp_path, None, file_size_limit=1_000_000) as server:
        server.set_password()
        name, token = server.add_device()
        queue(server, name, "upload_logs")
        upload = uuid.uuid4().hex
        for offset in range(0, 3 * CHUNK, CHUNK):
            assert put_chunk(server, token, upload, offset, b"y" * CHUNK).json() == {"received": offset + CHUNK}
        short = put_chunk(server, token, upload, 3 * CHUNK, b"z" * CHUNK)
        assert short.status_code == 507, short.text
        assert short.json() == {"received": 3 * CHUNK, "error": "the server's disk is full"}
        held = requests.get(f"{server.url}/api/v1/logs/{upload}", headers=auth(token), timeout=10).json()
        assert held["received"] == 3 * CHUNK
        files = list((server.data_dir / "logs").rglob("*.log"))
        assert [f.stat().st_size for f in files] == [3 * CHUNK]  # the partial chunk was given back


def test_a_heartbeat_sent_past_a_full_spool_says_the_box_s_disk_is_full(server: RunningServer) -> None:
    name, token = server.add_device()
    spool = {"pending": 3, "dropped": 0, "error": "OperationalError: database or disk is full", "disk_full": True}
    assert send_heartbeat(server, token, spool=spool).status_code == 200
    session, _ = login(server)
    mine = next(d for d in session.get(f"{server.url}/api/dash/devices", timeout=10,
                                       headers={"Accept-Language": "en"}).json()["devices"] if d["name"] == name)
    assert mine["status"] == "online"
    assert any(w["key"] == "w_box_disk_full" and w["text"].startswith("The box's disk is full")
               for w in mine["warnings"]), mine["warnings"]
