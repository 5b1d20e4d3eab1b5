"""The box's poster preparation: CPU for one grid's worth of catalog posters, by format and size.

    .venv/bin/python bench/poster_bench.py [--posters 40] [--rounds 3] [--checkout PATH]

What it does: makes ``--posters`` catalog posters the way the web serves them (photo-like pictures:
smooth gradients with fine noise, so the coders work as on a real film still), a third each of
1000x1500 JPEGs (the usual poster), 2000x3000 JPEGs (a large one) and 1000x1500 PNGs, then runs
``prepare_poster`` over all of them ``--rounds`` times and prints the process CPU time per poster
(median over rounds) for each kind and for the whole grid. CPU time, not wall time, so a busy machine
does not inflate it. ``--checkout`` measures another checkout's code (before/after a change).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def poster(size: tuple[int, int], fmt: str, seed: int) -> bytes:
    from PIL import Image

    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40 + seed % 20)
    picture = Image.merge("RGB", (gradient, noise, gradient.rotate(90).resize(size)))
    out = io.BytesIO()
    picture.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posters", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkout", type=Path, default=ROOT)
    args = parser.parse_args()
    sys.path.insert(0, str(args.checkout.resolve()))
    from piclient.catalog.posters import prepare_poster

    kinds = {"JPEG 1000x1500": ((1000, 1500), "JPEG"), "JPEG 2000x3000": ((2000, 3000), "JPEG"),
             "PNG 1000x1500": ((1000, 1500), "PNG")}
    names = list(kinds)
    posters = [(names[n % 3], poster(kinds[names[n % 3]][0], kinds[names[n % 3]][1], n)) for n in range(args.posters)]
    per_kind: dict[str, list[float]] = {name: [] for name in names}
    grid: list[float] = []
    for _ in range(args.rounds):
        spent: dict[str, list[float]] = {name: [] for name in names}
        for name, data in posters:
            start = time.process_time()
            prepare_poster(data)
            spent[name].append(time.process_time() - start)
        for name in names:
            per_kind[name].append(statistics.mean(spent[name]))
        grid.append(sum(sum(v) for v in spent.values()))
    print(f"code: {args.checkout.resolve().name}, {args.posters} posters, {args.rounds} rounds (median of rounds)")
    for name in names:
        print(f"  {name:16} {statistics.median(per_kind[name]) * 1000:7.1f} ms CPU a poster")
    print(f"  whole grid       {statistics.median(grid):7.2f} s CPU")


if __name__ == "__main__":
    main()
