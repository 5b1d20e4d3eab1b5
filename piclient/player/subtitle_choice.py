"""Which subtitle track is switched on when a film starts: one rule for every source of subtitles.

The catalog's sidecar files and the HLS master's renditions are candidates alike. The rule, in order:

1. A full subtitle in her language (``player.subtitle_language``), compared as BCP 47 does: by the
   primary language, any case, ISO 639-1 or 639-2 (``ko``, ``KO``, ``ko-KR``, ``kor`` are one language).
   Among several: the exact tag, then the one the publisher marked DEFAULT, then AUTOSELECT, then the
   first listed (sidecars are listed before renditions, so the family's own file wins).
2. A FORCED subtitle in her language. Forced tracks carry only signs and foreign-language lines, so one
   is never picked while a full one in that language exists; but they are in her language, which
   beats any full track in a language she does not read.
3. Nothing in her language: the publisher's DEFAULT, then an AUTOSELECT track (never a forced one).
   ffmpeg writes its one subtitle rendition with no LANGUAGE and DEFAULT=YES; that one shows.
4. Otherwise none: a language she did not ask for, that nobody marked, stays off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from piclient.player.languages import same_language, same_tag


@dataclass(frozen=True, slots=True)
class SubtitleOption:
    """What the rule looks at in a candidate track."""

    language: str
    default: bool = False
    autoselect: bool = False
    forced: bool = False


def choose_subtitle(options: Sequence[SubtitleOption], wanted: str) -> int | None:
    """The index in ``options`` of the track to switch on for a viewer of language ``wanted``, or None."""
    indexed = list(enumerate(options))
    mine = [(i, o) for i, o in indexed if same_language(o.language, wanted)]
    for forced in (False, True):
        pool = [(i, o) for i, o in mine if o.forced is forced]
        if pool:
            return min(pool, key=lambda item: (not same_tag(item[1].language, wanted), not item[1].default,
                                               not item[1].autoselect, item[0]))[0]
    for marked in (lambda o: o.default, lambda o: o.autoselect):
        found = [i for i, o in indexed if marked(o) and not o.forced]
        if found:
            return found[0]
    return None
