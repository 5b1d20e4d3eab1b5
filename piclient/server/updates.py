"""Published bundles and who is offered which (docs/updates.md).

``publish`` checks a bundle as a box would (piclient.update.bundle), signs its SHA-256 with the
server's key and copies it under DATA/bundles; ``offer`` names the version one device, or every
device, should run. The heartbeat reply carries the offer; the box downloads the bundle from
/api/v1/bundles/VERSION (resumable) and reports how its update went in its heartbeats.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from piclient.fsutil import atomic_write, fsync_dir
from piclient.server.schema import bundles, devices
from piclient.update import bundle, signing

KEY_FILE = "update-key.pem"


class UpdateError(Exception):
    pass


def bundle_dir(data_dir: Path) -> Path:
    return data_dir / "bundles"


def private_key(data_dir: Path) -> bytes:
    """The server's signing key, made on first use (readable by the server's user only)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        atomic_write(path, signing.new_private_key(), mode=0o600)
    return path.read_bytes()


def public_key(data_dir: Path) -> str:
    return signing.public_key_text(private_key(data_dir))


def prepare(data_dir: Path, source: Path) -> dict[str, Any]:
    """Check ``source`` and copy it into the bundle folder; return the row to insert."""
    try:
        manifest = bundle.read_manifest(source)
        sha = bundle.sha256_file(source)
        bundle.verify(source, sha, python=manifest.python, machine=manifest.platform.rsplit("_", 1)[-1])
    except bundle.BadBundle as exc:
        raise UpdateError(f"{source.name}: {exc}") from None
    file_name = f"piclient-{manifest.version}-{sha[:12]}.bundle"
    target = bundle_dir(data_dir) / file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{file_name}.tmp")
    shutil.copyfile(source, tmp)
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(target)
    fsync_dir(target.parent)
    return {"version": manifest.version, "file_name": file_name, "sha256": sha, "size": target.stat().st_size,
            "signature": signing.sign(private_key(data_dir), sha), "python": manifest.python,
            "platform": manifest.platform, "published_at": time.time()}


def publish(conn: sa.Connection, row: dict[str, Any]) -> None:
    existing = conn.execute(sa.select(bundles.c.sha256).where(bundles.c.version == row["version"])).scalar()
    if existing is not None and existing != row["sha256"]:
        # A box that tried (and maybe rolled back) 0.2.0 must never get a different 0.2.0.
        raise UpdateError(f"version {row['version']} was already published with other contents; "
                          "give the new build a new version")
    if existing is None:
        conn.execute(bundles.insert().values(**row))


def offer(conn: sa.Connection, version: str, device_name: str | None) -> int:
    """Offer ``version`` to one device (by name) or, with None, to every active device. Returns how many."""
    if conn.execute(sa.select(bundles.c.version).where(bundles.c.version == version)).first() is None:
        raise UpdateError(f"no published bundle has version {version}")
    query = devices.update().where(devices.c.revoked_at.is_(None)).values(offered_version=version)
    if device_name is not None:
        query = query.where(devices.c.name == device_name)
    count = conn.execute(query).rowcount
    if device_name is not None and count == 0:
        raise UpdateError(f"no active device is named {device_name!r}")
    return count


def offer_of(conn: sa.Connection, version: str) -> dict[str, Any] | None:
    """The heartbeat reply's ``update`` field for ``version``: what to run, and where to get it."""
    row = conn.execute(sa.select(bundles).where(bundles.c.version == version)).first()
    if row is None:
        return None
    return {"version": row.version, "url": f"/api/v1/bundles/{row.version}", "sha256": row.sha256,
            "size": row.size, "signature": row.signature}


def bundle_file(conn: sa.Connection, device_id: int, version: str) -> str | None:
    """The file of ``version``, only for a device that is offered it."""
    return conn.execute(
        sa.select(bundles.c.file_name).join(devices, devices.c.offered_version == bundles.c.version)
        .where(devices.c.id == device_id, bundles.c.version == version)).scalar()


def listing(conn: sa.Connection) -> list[sa.Row]:
    return list(conn.execute(sa.select(bundles).order_by(bundles.c.published_at.desc())))
