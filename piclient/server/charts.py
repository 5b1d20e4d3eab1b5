"""Tiny inline SVG sparklines drawn on the server: no chart library, nothing fetched by the page."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 300
HEIGHT = 60
PAD = 4


def sparkline(points: Sequence[tuple[float, float]], *, label: str, unit: str, colour: str = "#2b7de9",
              lo: float | None = None, hi: float | None = None) -> str:
    """An <svg> of (time, value) points with the latest value written beside it; '' when there is no data."""
    if not points:
        return ""
    times = [p[0] for p in points]
    values = [p[1] for p in points]
    v_lo = min(values) if lo is None else min(lo, min(values))
    v_hi = max(values) if hi is None else max(hi, max(values))
    t_lo, t_hi = times[0], times[-1]
    t_span = (t_hi - t_lo) or 1.0
    v_span = (v_hi - v_lo) or 1.0

    def xy(t: float, v: float) -> str:
        x = PAD + (t - t_lo) / t_span * (WIDTH - 2 * PAD)
        y = HEIGHT - PAD - (v - v_lo) / v_span * (HEIGHT - 2 * PAD)
        return f"{x:.1f},{y:.1f}"

    path = " ".join(xy(t, v) for t, v in points)
    latest = f"{values[-1]:.0f}{unit}"
    title = escape(f"{label}: {latest} (min {min(values):.0f}{unit}, max {max(values):.0f}{unit})")
    return (f'<svg class="spark" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}">'
            f"<title>{title}</title>"
            f'<polyline fill="none" stroke="{escape(colour)}" stroke-width="2" points="{path}"/>'
            f'<text x="{WIDTH - PAD}" y="14" text-anchor="end" font-size="12" fill="currentColor">'
            f"{escape(latest)}</text></svg>")
