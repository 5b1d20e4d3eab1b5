"""`python -m piclient.update.make_bundle WHEELS --out FILE`: the bundle `make bundle` publishes.

WHEELS holds piclient's own wheel and every dependency's wheel for the box (pip download with
--platform and --python-version); the bundle's version is piclient's wheel's. The box installs
``piclient==<version>`` without an extra, so a wheel of the server's libraries (the ``server`` extra)
would only be carried to every box for nothing: it is refused.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from piclient import extras
from piclient.update import bundle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m piclient.update.make_bundle")
    parser.add_argument("wheels", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--python", default="3.11", help="the image's Python, major.minor")
    parser.add_argument("--platform", default="manylinux_2_36_aarch64", help="the image's wheel platform tag")
    args = parser.parse_args(argv)
    wheels = sorted(args.wheels.glob("*.whl"))
    own = [w for w in wheels if w.name.startswith("piclient-")]
    if len(own) != 1:
        print(f"make_bundle: expected one piclient wheel in {args.wheels}, found {len(own)}", file=sys.stderr)
        return 1
    version = own[0].name.split("-")[1]
    wrong = [w.name for w in wheels if not _fits(w.name, args.python, args.platform)]
    if wrong:
        print(f"make_bundle: these wheels do not run on the box: {', '.join(wrong)}", file=sys.stderr)
        return 1
    server = {_canonical(name) for name in extras.requirements("server")}
    servers = [w.name for w in wheels if _canonical(w.name.split("-")[0]) in server]
    if servers:
        print(f"make_bundle: these wheels are the server's (piclient[server]), not the box's: {', '.join(servers)}",
              file=sys.stderr)
        return 1
    manifest = bundle.build(wheels, args.out, version=version, requirement=f"piclient=={version}",
                            python=args.python, platform_tag=args.platform)
    size = args.out.stat().st_size
    print(f"{args.out}: piclient {manifest.version}, {len(wheels)} wheels, {size / 1048576:.1f} MiB, "
          f"sha256 {bundle.sha256_file(args.out)}")
    return 0


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _fits(name: str, python: str, platform: str) -> bool:
    """A wheel's tags (name-version[-build]-python-abi-platform.whl) against the box's."""
    parts = name[:-4].split("-")
    py_tags, abi, plats = parts[-3].split("."), parts[-2], parts[-1].split(".")
    cp = "cp" + python.replace(".", "")
    machine = platform.rsplit("_", 1)[-1] if "_" in platform else platform
    python_ok = any(t in ("py3", f"py{python.replace('.', '')}", cp) for t in py_tags) or (
        abi == "abi3" and any(t.startswith("cp3") for t in py_tags))
    platform_ok = "any" in plats or any(p.endswith(machine) for p in plats)
    return python_ok and platform_ok


if __name__ == "__main__":
    sys.exit(main())
