"""`piclient update recover|run|status`: the image's updater, run by piclient-update*.service."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

# Only what the parser needs: every `piclient` command builds it, the TV's launcher at each start,
# and the updater's own modules cost that start a tenth of a second on a desktop (much more on a Pi).
from piclient.update.layout import FACTORY, Layout

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction, default_config: str) -> None:  # type: ignore[type-arg]
    update = sub.add_parser("update", help="install and try an update the agent downloaded (the image's updater)")
    update.add_argument("--config", default=default_config)
    update.add_argument("--factory", type=Path, default=FACTORY, help="the image's own install")
    actions = update.add_subparsers(metavar="ACTION", required=True)
    actions.add_parser("recover", help="at boot, before the units: mend what a power cut left of a switch") \
        .set_defaults(func=_cmd, action="recover")
    actions.add_parser("run", help="carry out request.json, if there is one").set_defaults(func=_cmd, action="run")
    actions.add_parser("status", help="the update's state, as JSON").set_defaults(func=_cmd, action="status")


def _cmd(args: argparse.Namespace) -> int:
    from piclient.cli import _load
    from piclient.logs import setup_logging
    from piclient.update import drill, health, status
    from piclient.update.runner import Updater
    from piclient.update.units import SystemdUnits

    config = _load(args.config)
    setup_logging(config.log.level, "piclient-update")
    layout = Layout(root=config.paths.data / "updates", factory=args.factory)
    if args.action == "status":
        print(json.dumps({"running": layout.version_of(layout.running_venv()),
                          "update": status.read(layout.status)}, ensure_ascii=False, indent=1))
        return 0
    settings = config.updates
    updater = Updater(layout, SystemdUnits(config.paths.socket), public_key=settings.public_key or None,
                      limits=health.Limits(deadline_s=settings.deadline_seconds, settle_s=settings.settle_seconds),
                      state_db=config.paths.data / "state.db", python=str(args.factory / "bin" / "python"),
                      hook=drill.hook(layout))
    if args.action == "recover":
        # Before the units start: the links mended, and a rollback decided before a power cut
        # switched back, so the version judged bad is not started again.
        log.info("the units will start %s", layout.version_of(updater.recover()))
        return 0
    doc = updater.run()
    if doc is not None:
        log.info("update %s: %s %s", doc.get("version"), doc.get("state"), doc.get("reason") or "")
    return 0
