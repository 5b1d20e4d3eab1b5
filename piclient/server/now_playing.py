"""What a box plays, as the dashboard shows it: read from the heartbeat with the shared model.

The heartbeat's ``tv.now_playing`` is the launcher's own report (piclient/protocol/status.py), so
what the page says is what the player said. One partial template (``_now_playing.html``) draws it
on the device page and in the device list, and the page's script swaps in the same HTML.
"""

from __future__ import annotations

from typing import Any

from piclient.protocol import NowPlaying, parse_or_none
from piclient.server.boxtext import clean, clean_block
from piclient.server.i18n import duration

LANGUAGE_NAMES = {"ko": "한국어", "en": "English", "ja": "日本語", "zh": "中文", "de": "Deutsch", "fr": "Français"}


def clock(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def pick(names: dict[str, str], lang: str) -> str:
    """The name in the viewer's language, else Korean, else any; box text, so cleaned of controls."""
    return clean(names.get(lang) or names.get("ko") or next(iter(names.values()), ""))


def view(heartbeat: dict[str, Any], t: Any, lang: str) -> dict[str, Any] | None:
    """The playback in the heartbeat, in words for the page; None when nothing plays.

    A ``now_playing`` that does not fit the model is shown as unreadable, not as "nothing playing":
    the maintainer must not be told the TV is idle when the box said something we cannot read.
    """
    tv = heartbeat.get("tv") if isinstance(heartbeat.get("tv"), dict) else {}
    raw = tv.get("now_playing")
    if raw is None:
        return None
    np = parse_or_none(NowPlaying, raw, "a heartbeat's now_playing")
    if np is None:
        return {"unreadable": True, "summary": t("np_unreadable")}
    title = pick(np.title, lang) or clean(np.title_id)
    episode = None
    if np.episode is not None:
        episode = t("np_episode", season=np.season if np.season is not None else 1, episode=np.episode)
        if np.episode_title:
            episode += f" · {pick(np.episode_title, lang)}"
    if np.buffering:
        state = "buffering"
    elif np.paused:
        state = "paused"
    else:
        state = {"starting": "starting", "countdown": "countdown", "done": "done"}.get(np.phase, "playing")
    fraction = None
    if np.position is not None and np.duration:
        fraction = min(1.0, max(0.0, np.position / np.duration))
    rendition = None
    if np.variant is not None and (np.variant.height or np.variant.bitrate):
        parts = [f"{np.variant.height}p" if np.variant.height else None,
                 f"{np.variant.bitrate / 1e6:.1f} Mbit/s" if np.variant.bitrate else None]
        rendition = " · ".join(p for p in parts if p)
    subtitle = None
    if np.subtitle is not None:
        code = np.subtitle.lang or ""
        subtitle = clean(LANGUAGE_NAMES.get(code.split("-")[0].lower(), code) or np.subtitle.title or "?", 40)
    sent_at = heartbeat.get("sent_at")
    # Both times come from the box's clock, so their difference holds even when that clock is wrong.
    playing_for = None
    if np.started_at is not None and isinstance(sent_at, int | float) and sent_at >= np.started_at:
        playing_for = duration(t, sent_at - np.started_at)
    where = " / ".join(p for p in (clock(np.position), clock(np.duration)) if p)
    summary = " · ".join(p for p in (title, episode, where) if p)
    if state != "playing":
        summary += f" ({t('np_' + state)})"
    return {
        "unreadable": False, "summary": summary, "id": clean(np.id), "title": title, "episode": episode,
        "state": state, "state_text": t("np_" + state), "position": clock(np.position),
        "duration": clock(np.duration), "fraction": fraction,
        "percent": None if fraction is None else round(100 * fraction, 1),
        "rendition": rendition, "subtitle": subtitle, "sub_text": clean_block(np.sub_text.strip(), 500) or None,
        "sub_delay": (f"{np.sub_delay:+.1f} s" if abs(np.sub_delay) >= 0.05 else None),
        "playing_for": playing_for, "error": clean(np.error, 500) if np.error else None,
    }
