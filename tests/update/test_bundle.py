"""A bundle is refused, with a reason, for each way it can be wrong, before anything is installed."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

from piclient.update import bundle, make_bundle, signing
from tests.update.versions import build_bundle, build_wheel

PY = f"{sys.version_info.major}.{sys.version_info.minor}"


def _rewrite(path: Path, out: Path, *, extra: tuple[str, bytes, bytes] | None = None,
             change: str | None = None, manifest: dict | None = None) -> Path:
    """A copy of the bundle at ``path`` with one thing made wrong."""
    with tarfile.open(path) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json" and manifest is not None:
                data = json.dumps({**json.loads(data), **manifest}).encode()
            if member.name == change:
                data = data[:-1] + bytes([data[-1] ^ 1])
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
        if extra is not None:
            name, data, kind = extra
            info = tarfile.TarInfo(name)
            if kind == b"link":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            info.size = len(data) if kind != b"link" else 0
            dst.addfile(info, io.BytesIO(data))
    return out


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return build_bundle(tmp_path, "2.0")[0]


def test_a_good_bundle_passes(good: Path) -> None:
    assert bundle.verify(good, bundle.sha256_file(good)).version == "2.0"


@pytest.mark.parametrize(("damage", "message"), [
    ({"change": "wheels/tinybox-2.0-py3-none-any.whl"}, "does not match its SHA-256"),
    ({"extra": ("wheels/evil-1.0-py3-none-any.whl", b"x", b"file")}, "not in the manifest"),
    ({"extra": ("../../etc/cron.d/evil", b"x", b"file")}, "not a wheel in wheels/"),
    ({"extra": ("wheels/link.whl", b"", b"link")}, "not a wheel in wheels/"),
    ({"manifest": {"python": "2.7"}}, "for Python 2.7"),
    ({"manifest": {"platform": "manylinux2014_riscv64"}}, "for manylinux2014_riscv64"),
    ({"manifest": {"version": "../../escape"}}, "not a version name"),
    ({"manifest": {"files": {"wheels/tinybox-2.0-py3-none-any.whl": "0" * 64, "wheels/gone.whl": "1" * 64}}},
     "SHA-256"),
    ({"manifest": {"format": 99}}, "format-1 manifest"),
])
def test_a_damaged_bundle_is_refused_with_a_reason(good: Path, tmp_path: Path, damage: dict, message: str) -> None:
    bad = _rewrite(good, tmp_path / "bad.bundle", **damage)
    with pytest.raises(bundle.BadBundle, match=message):
        bundle.verify(bad, bundle.sha256_file(bad))


def test_a_listed_wheel_that_is_missing_is_refused(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "2.0")
    path = tmp_path / "b.bundle"
    bundle.build([wheel], path, version="2.0", requirement="tinybox==2.0", python=PY, platform_tag="any")
    manifest = json.loads(bundle.read_manifest(path).to_json())
    manifest["files"]["wheels/other-1.0-py3-none-any.whl"] = "2" * 64
    bad = _rewrite(path, tmp_path / "bad.bundle", manifest=manifest)
    with pytest.raises(bundle.BadBundle, match="which the bundle lacks"):
        bundle.verify(bad)


@pytest.mark.parametrize("content", [b"", b"not a tar", b"\x1f\x8b\x08 gzip"])
def test_a_file_that_is_not_a_bundle_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.bundle"
    path.write_bytes(content)
    with pytest.raises(bundle.BadBundle):
        bundle.verify(path)


def test_a_signature_for_another_bundle_does_not_pass() -> None:
    key = signing.new_private_key()
    public = signing.public_key_text(key)
    signature = signing.sign(key, "a" * 64)
    signing.verify(public, "a" * 64, signature)
    with pytest.raises(signing.BadSignature):
        signing.verify(public, "b" * 64, signature)
    with pytest.raises(signing.BadSignature):
        signing.verify(public, "a" * 64, "not base64!")


def test_make_bundle_refuses_a_wheel_for_another_machine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "piclient-0.2.0-py3-none-any.whl").write_bytes(b"x")
    (wheels / "pygame_ce-2.5.6-cp311-cp311-manylinux2014_x86_64.whl").write_bytes(b"x")
    assert make_bundle.main([str(wheels), "--out", str(tmp_path / "b.bundle")]) == 1
    assert "pygame_ce" in capsys.readouterr().err
    (wheels / "pygame_ce-2.5.6-cp311-cp311-manylinux2014_x86_64.whl").unlink()
    (wheels / "pygame_ce-2.5.6-cp311-cp311-manylinux2014_aarch64.manylinux_2_17_aarch64.whl").write_bytes(b"x")
    (wheels / "cryptography-38.0.4-cp36-abi3-manylinux2014_aarch64.whl").write_bytes(b"x")
    assert make_bundle.main([str(wheels), "--out", str(tmp_path / "b.bundle")]) == 0
    assert bundle.read_manifest(tmp_path / "b.bundle").requirement == "piclient==0.2.0"


def test_make_bundle_refuses_the_servers_libraries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The box installs piclient==X without the `server` extra: its wheels would be carried for nothing.
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "piclient-0.2.0-py3-none-any.whl").write_bytes(b"x")
    (wheels / "pygame_ce-2.5.6-cp311-cp311-manylinux2014_aarch64.whl").write_bytes(b"x")
    (wheels / "SQLAlchemy-2.1.9-cp311-cp311-manylinux2014_aarch64.whl").write_bytes(b"x")
    (wheels / "prometheus_client-0.26.0-py3-none-any.whl").write_bytes(b"x")
    assert make_bundle.main([str(wheels), "--out", str(tmp_path / "b.bundle")]) == 1
    err = capsys.readouterr().err
    assert "server's" in err and "SQLAlchemy-2.1.9" in err and "prometheus_client" in err and "pygame" not in err
    assert not (tmp_path / "b.bundle").exists()
