"""The catalog: format, parsing, the local cache the launcher reads and the sync that fills it."""

from piclient.catalog.model import (
    Catalog,
    CatalogError,
    Episode,
    Season,
    Skipped,
    Subtitle,
    Title,
    parse_catalog,
    pick,
)

__all__ = ["Catalog", "CatalogError", "Episode", "Season", "Skipped", "Subtitle", "Title", "parse_catalog", "pick"]
