"""Small catalog documents for tests, in the published format (docs/catalog.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

STREAM = "http://127.0.0.1:9/stream/master.m3u8"  # never played by launcher tests


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def film(ident: str, ko: str, en: str = "", *, added_days_ago: float = 100, **extra: Any) -> dict[str, Any]:
    entry = {"id": ident, "kind": "film", "title": {"ko": ko, "en": en or ident}, "year": 2001,
             "description": {"ko": f"{ko}에 관한 이야기", "en": f"A story about {en or ident}"},
             "stream": STREAM, "duration": 3600, "added_at": days_ago(added_days_ago)}
    entry.update(extra)
    return entry


def series(ident: str, ko: str, episodes: int = 3, *, added_days_ago: float = 100) -> dict[str, Any]:
    return {"id": ident, "kind": "series", "title": {"ko": ko, "en": ident}, "year": 2024,
            "added_at": days_ago(added_days_ago),
            "seasons": [{"number": 1, "episodes": [
                {"id": f"{ident}-e{n}", "number": n, "title": {"ko": f"{n}번째 이야기"}, "stream": STREAM,
                 "duration": 1500} for n in range(1, episodes + 1)]}]}


def write_catalog(path: Path, titles: list[Any], version: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": version, "titles": titles}, ensure_ascii=False), encoding="utf-8")
    return path
