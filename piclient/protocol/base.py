"""What every wire model shares: unknown fields kept, JSON out with the wire's own names."""

from __future__ import annotations

import logging
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)

# Grows when a field changes meaning or type; new optional fields do not need a new number.
SCHEMA = 1


class WireModel(BaseModel):
    # extra="allow": a newer sender's fields survive an older reader, and reach the stored JSON.
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict sent over the socket or HTTP (``schema`` under its wire name)."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def read(cls, value: Any) -> Self:
        """Validate a received value; raises pydantic's ValidationError with every field at fault."""
        return cls.model_validate(value)


M = TypeVar("M", bound=WireModel)


def parse_or_none(model: type[M], value: Any, what: str = "") -> M | None:
    """``value`` as ``model``, or None when it is missing or does not fit (logged, never raised):
    for readers that show what they can of a message rather than nothing at all."""
    if value is None:
        return None
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        log.debug("%s does not fit %s: %s", what or "a value", model.__name__, exc)
        return None


def problems(exc: ValidationError, limit: int = 5) -> str:
    """A validation error as one line: ``tv.now_playing.position: Input should be a valid number``."""
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "(the message)"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
