"""An update offered in the heartbeat reply, and how the box's update went, in its heartbeats
(docs/updates.md)."""

from __future__ import annotations

from pydantic import Field

from piclient.protocol.base import WireModel


class UpdateOffer(WireModel):
    version: str = Field(description="the version this box should run")
    url: str = Field(description="where to download the bundle, under the server's URL (answers Range)")
    sha256: str = Field(description="SHA-256 of the whole bundle file, hex")
    size: int = Field(description="the bundle's size in bytes")
    signature: str = Field("", description="Ed25519 signature of the SHA-256 by the server's key, base64")


class UpdateReport(WireModel):
    state: str = Field(description="`downloading`, `installing`, `trying`, `kept`, `rolling_back` (decided, under "
                                   "way), `rolled_back` or `failed`")
    version: str = Field(description="the version being (or last) updated to")
    from_version: str | None = Field(None, description="the version that ran before (`factory`: the image's)")
    running: str | None = Field(None, description="the version running after a rollback")
    reason: str | None = Field(None, description="why it was rolled back or refused, at most 500 characters")
    log_tail: str | None = Field(None, description="the failing version's last log lines, at most 4,000 characters")
    at: float | None = Field(None, description="when this state was reached, box clock")
