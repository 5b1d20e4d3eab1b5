"""The `piclient` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import base64
import faulthandler
import json
import os
import sys
from pathlib import Path

DEFAULT_CONFIG = "/boot/firmware/piclient.yaml"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # its banner would land in the journal
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["server"]:  # the server has its own parser, with subcommands of its own
        if not _has_server_libraries("piclient server"):
            return 2
        from piclient.server.cli import main as server_main

        return server_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="piclient", description="A TV box for a parent, looked after from afar.")
    sub = parser.add_subparsers(metavar="COMMAND")

    tv = sub.add_parser("tv", help="run the launcher on the TV")
    tv.add_argument("--config", default=DEFAULT_CONFIG)
    tv.set_defaults(func=_cmd_tv)

    config = sub.add_parser("config", help="check or show a config file")
    config_sub = config.add_subparsers(metavar="ACTION", required=True)
    check = config_sub.add_parser("check", help="validate and list every problem")
    check.add_argument("path")
    check.set_defaults(func=_cmd_config_check)
    show = config_sub.add_parser("show", help="print the effective config, secrets masked")
    show.add_argument("path")
    show.set_defaults(func=_cmd_config_show)

    agent = sub.add_parser("agent", help="report to the server and run its commands (heartbeats, sync)")
    agent.add_argument("--config", default=DEFAULT_CONFIG)
    agent.set_defaults(func=_cmd_agent)

    sync = sub.add_parser("sync", help="fetch the catalog and posters into the local cache once")
    sync.add_argument("--config", default=DEFAULT_CONFIG)
    sync.set_defaults(func=_cmd_sync)

    ctl = sub.add_parser("ctl", help="talk to the running launcher")
    ctl.add_argument("--socket", default="/run/piclient/tv.sock")
    ctl.add_argument("--timeout", type=float, default=10.0)
    ctl_sub = ctl.add_subparsers(metavar="ACTION", required=True)
    ctl_sub.add_parser("status", help="what is on screen, as JSON").set_defaults(func=_cmd_ctl, action="status")
    key = ctl_sub.add_parser("key", help="press a remote button (up, ok, back, red, ...)")
    key.add_argument("name")
    key.set_defaults(func=_cmd_ctl, action="key")
    message = ctl_sub.add_parser("message", help="show a message on the TV")
    message.add_argument("text")
    message.add_argument("--seconds", type=float, default=30)
    message.set_defaults(func=_cmd_ctl, action="message")
    shot = ctl_sub.add_parser("screenshot", help="save exactly what the TV shows (.png or .jpg)")
    shot.add_argument("out")
    shot.add_argument("--max-width", type=int, default=0)
    shot.set_defaults(func=_cmd_ctl, action="screenshot")
    play = ctl_sub.add_parser("play", help="play a catalog title or episode, or an http(s) HLS URL")
    play.add_argument("id", nargs="?", help="title or episode id from the catalog")
    play.add_argument("--url", help="an http(s) HLS URL that is not in the catalog")
    play.add_argument("--start", type=float, default=None, help="start at this many seconds")
    play.set_defaults(func=_cmd_ctl, action="play")
    ctl_sub.add_parser("reload", help="fetch the catalog again now").set_defaults(func=_cmd_ctl, action="reload")

    sub.add_parser("server", help="the maintainer's server and dashboard (piclient server --help)")

    from piclient.publish.cli import add_arguments

    publish = sub.add_parser("publish", help="package a film (and subtitles) into a library, or upload it to a server")
    add_arguments(publish)
    publish.set_defaults(func=_cmd_publish)

    boot = sub.add_parser("boot-config", help="on the SD image: apply piclient.yaml at boot, show its mistakes")
    boot_sub = boot.add_subparsers(metavar="ACTION")
    apply = boot_sub.add_parser("apply", help="write Wi-Fi, host name, locale, time zone, SSH keys, runtime config")
    apply.add_argument("path", nargs="?", default=DEFAULT_CONFIG)
    apply.add_argument("--root", default="/", help="the system's root folder (for building and testing)")
    apply.add_argument("--run-dir", default="/run/piclient")
    apply.add_argument("--kept", default="/var/lib/piclient/boot-config/piclient.yaml",
                       help="the last readable piclient.yaml, used when the boot partition cannot be read")
    apply.set_defaults(func=_cmd_boot_apply)
    notice = boot_sub.add_parser("notice", help="show the config's mistakes on the TV")
    notice.add_argument("--run-dir", default="/run/piclient")
    notice.add_argument("--socket", default=None, help="the launcher's socket (default: the runtime config's)")
    notice.set_defaults(func=_cmd_boot_notice)

    demo = sub.add_parser("demo", help="the whole loop on 127.0.0.1: demo library, server, agent, launcher")
    demo.add_argument("--cache", default=None, help="where the demo library is built (default ~/.cache/piclient)")
    demo.add_argument("--headless", action="store_true", help="no window even if a display is available")
    demo.add_argument("--screenshots", default=None, help="save the README's screenshots into this folder and exit")
    demo.set_defaults(func=_cmd_demo)
    from piclient.update.cli import add_parser as add_update_parser

    add_update_parser(sub, DEFAULT_CONFIG)
    return parser


def _load(path: str):
    from piclient.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"{exc.path}: the config has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def _cmd_config_check(args: argparse.Namespace) -> int:
    _load(args.path)
    print(f"{args.path}: OK")
    return 0


def _cmd_config_show(args: argparse.Namespace) -> int:
    from piclient.config import dump_effective

    print(dump_effective(_load(args.path)), end="")
    return 0


def _cmd_tv(args: argparse.Namespace) -> int:
    from piclient.logs import setup_logging
    from piclient.tv import run_tv

    config = _load(args.config)
    setup_logging(config.log.level, "piclient-tv")
    # libmpv, SDL and libcec are native code: if one of them crashes, the Python stack of every thread
    # goes to stderr (the journal), which is the only clue the maintainer will get.
    faulthandler.enable()
    return run_tv(config)


def _cmd_agent(args: argparse.Namespace) -> int:
    from piclient.agent.main import run_agent
    from piclient.logs import setup_logging

    config = _load(args.config)
    setup_logging(config.log.level, "piclient-agent")
    return run_agent(config)


def _cmd_sync(args: argparse.Namespace) -> int:
    from piclient.catalog.cache import CatalogCache
    from piclient.catalog.sync import CatalogSync
    from piclient.logs import setup_logging

    config = _load(args.config)
    setup_logging(config.log.level)
    if not config.catalog.source:
        print("catalog.source is empty: nothing to sync", file=sys.stderr)
        return 2
    result = CatalogSync(config.catalog.source, CatalogCache(config.paths.data)).run_once()
    print(json.dumps(result.__dict__, ensure_ascii=False))
    return 1 if result.error else 0


def _cmd_ctl(args: argparse.Namespace) -> int:
    from piclient.control.client import ControlClient, ControlUnavailable

    client = ControlClient(args.socket, timeout=args.timeout)
    try:
        if args.action == "screenshot":
            fmt = "jpeg" if args.out.lower().endswith((".jpg", ".jpeg")) else "png"
            sizing = {"max_width": args.max_width} if args.max_width else {}
            reply = client.request("screenshot", format=fmt, **sizing)
            if not reply.get("ok"):
                print(reply.get("error", "screenshot failed"), file=sys.stderr)
                return 1
            Path(args.out).write_bytes(base64.b64decode(reply["data"]))
            print(f"{args.out}: {reply['width']}x{reply['height']} {reply['format']}")
            return 0
        extra = {}
        if args.action == "key":
            extra = {"name": args.name}
        elif args.action == "message":
            extra = {"text": args.text, "seconds": args.seconds}
        elif args.action == "play":
            if bool(args.id) == bool(args.url):
                print("give either a title id or --url", file=sys.stderr)
                return 2
            extra = {"url": args.url} if args.url else {"id": args.id}
            if args.start is not None:
                extra["start"] = args.start
        reply = client.request(args.action, **extra)
    except ControlUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(json.dumps(reply, ensure_ascii=False, indent=2))
    return 0 if reply.get("ok") else 1


def _cmd_publish(args: argparse.Namespace) -> int:
    from piclient.publish.cli import run

    return run(args)


def _cmd_boot_apply(args: argparse.Namespace) -> int:
    from piclient.bootconfig import apply
    from piclient.logs import setup_logging

    setup_logging("info", "piclient-boot-config")
    apply(Path(args.path), Path(args.root), Path(args.run_dir), kept=Path(args.kept))
    return 0  # never fail the boot: the mistakes are logged and shown on the TV


def _cmd_boot_notice(args: argparse.Namespace) -> int:
    from piclient.bootconfig.notice import send_notice
    from piclient.logs import setup_logging

    setup_logging("info", "piclient-boot-config")
    run_dir = Path(args.run_dir)
    socket = args.socket
    if socket is None:
        from piclient.bootconfig.salvage import salvage_file

        socket = salvage_file(run_dir / "piclient.yaml").config.paths.socket
    send_notice(run_dir, Path(socket))
    return 0


def _has_server_libraries(command: str) -> bool:
    """The server's libraries are an extra the box does not install: say so in one line, not a traceback."""
    from piclient.extras import MissingExtra, require

    try:
        require("server")
    except MissingExtra as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return False
    return True


def _cmd_demo(args: argparse.Namespace) -> int:
    if not _has_server_libraries("piclient demo"):  # the demo runs the maintainer's server
        return 2
    from piclient.demo.run import run_demo

    return run_demo(cache=Path(args.cache) if args.cache else None, headless=args.headless,
                    screenshots=Path(args.screenshots) if args.screenshots else None)


if __name__ == "__main__":
    sys.exit(main())
