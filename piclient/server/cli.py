"""`piclient server ...`: run the server, add and revoke devices, set the maintainer's password."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from piclient.server.settings import LOCAL_HOSTS, METRICS_TOKEN_ENV, SMTP_PASSWORD_ENV, EmailSettings, Settings

COMMANDS = ("serve", "add-device", "revoke-device", "list-devices", "set-password", "add-maintainer-token",
            "revoke-maintainer-token", "worker", "publish-bundle", "offer", "update-key")
DEFAULT_PORT = 8470


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `piclient server --data DIR` runs the server; the other jobs are named subcommands.
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["serve", *argv]
    args = _parser().parse_args(argv)
    return int(args.func(args) or 0)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="where the database, screenshots and logs live")
    parser.add_argument("--database", default=None,
                        help="database URL (default: SQLite in DATA); e.g. postgresql+psycopg://user@host/db")


def _positive_days(value: str) -> float:
    try:
        days = float(value)
    except ValueError:
        days = float("nan")
    if not days > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days above 0")
    return days


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="piclient server", description="The maintainer's server and dashboard.",
        epilog="Without a subcommand the server runs (same as `serve`). See docs/server.md.")
    sub = parser.add_subparsers(metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="run the server (the default)")
    _common(serve)
    serve.add_argument("--listen", default=f"127.0.0.1:{DEFAULT_PORT}", help="HOST:PORT (port 0 picks a free one)")
    serve.add_argument("--library", type=Path, default=None, help="the library: catalog.json, posters, media")
    serve.add_argument("--inbox", type=Path, default=None,
                       help="package films dropped into this folder once their copy has finished (needs --library)")
    serve.add_argument("--inbox-settle", type=float, default=30.0, metavar="SECONDS",
                       help="a dropped file is taken once its size and time held still this long (default 30)")
    serve.add_argument("--no-worker", action="store_true",
                       help="do not package uploads in this process (run `piclient server worker` instead)")
    serve.add_argument("--retention-days", type=float, default=14.0)
    serve.add_argument("--abandoned-upload-days", type=_positive_days, default=7.0, metavar="DAYS",
                       help="remove an upload (film, subtitle, update bundle) with no new byte for this long "
                            "(default 7)")
    serve.add_argument("--heartbeat-seconds", type=int, default=30, help="asked of every box; offline after 3")
    serve.add_argument("--alert-webhook", default=None, help="POST a JSON alert here")
    serve.add_argument("--alert-ntfy", default=None, help="POST a plain-text alert here (an ntfy topic URL)")
    serve.add_argument("--alert-email", action="append", default=None, metavar="ADDRESS",
                       help="e-mail alerts to this address (repeat for more); needs --smtp-host and --smtp-from")
    serve.add_argument("--smtp-host", default=None, metavar="HOST[:PORT]",
                       help="the mail relay (port 25 on localhost, else 587); STARTTLS is required unless the "
                            "relay is on this machine")
    serve.add_argument("--smtp-from", default=None, metavar="ADDRESS", help="the alert e-mails' sender")
    serve.add_argument("--smtp-user", default=None,
                       help=f"log in to the relay as this user, with the password from ${SMTP_PASSWORD_ENV}")
    serve.add_argument("--alert-check-seconds", type=float, default=15.0)
    serve.add_argument("--cleanup-seconds", type=float, default=3600.0, help="how often old records are removed")
    serve.add_argument("--trust-proxy", nargs="?", const="*", default=None, metavar="IPS",
                       help="believe X-Forwarded-For/-Proto from these proxy addresses (comma-separated; "
                            "bare flag: from any peer, only when nothing but the proxy can reach the server)")
    serve.add_argument("--metrics-token-file", type=Path, default=None, metavar="FILE",
                       help=f"/metrics needs the bearer token in FILE (or in ${METRICS_TOKEN_ENV}); without "
                            "one it answers on loopback only")
    # Refused with a reason rather than unknown: a token on the command line shows in `ps` to every user.
    serve.add_argument("--metrics-token", default=None, help=argparse.SUPPRESS)
    serve.add_argument("--box-quota-mb", type=int, default=512, metavar="MIB",
                       help="disk each box may use for screenshots and logs (oldest screenshots go first)")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(func=_cmd_serve)

    add = sub.add_parser("add-device", help="create a device and print its token once")
    add.add_argument("name")
    _common(add)
    add.add_argument("--url", default="https://SERVER-ADDRESS", help="the server address the box will use")
    add.add_argument("--new-token", action="store_true",
                     help="the device exists: give it a new token (the old one stops working)")
    add.set_defaults(func=_cmd_add)

    revoke = sub.add_parser("revoke-device", help="stop accepting a device's token")
    revoke.add_argument("name")
    _common(revoke)
    revoke.set_defaults(func=_cmd_revoke)

    listing = sub.add_parser("list-devices", help="list devices")
    _common(listing)
    listing.set_defaults(func=_cmd_list)

    token = sub.add_parser("add-maintainer-token", help="create a token for uploads (publish --server); printed once")
    token.add_argument("name")
    _common(token)
    token.set_defaults(func=_cmd_add_maintainer_token)
    untoken = sub.add_parser("revoke-maintainer-token", help="stop accepting a maintainer token")
    untoken.add_argument("name")
    _common(untoken)
    untoken.set_defaults(func=_cmd_revoke_maintainer_token)

    worker = sub.add_parser("worker", help="package uploaded and inbox films (one more worker; shares the queue)")
    _common(worker)
    worker.add_argument("--library", type=Path, required=True, help="the library the server serves")
    worker.add_argument("--inbox", type=Path, default=None, help="also watch this folder for finished copies")
    worker.add_argument("--inbox-settle", type=float, default=30.0, metavar="SECONDS",
                        help="a dropped file is taken once its size and time held still this long (default 30)")
    worker.add_argument("--once", action="store_true", help="run the queued jobs, then exit")
    worker.add_argument("--log-level", default="info")
    worker.set_defaults(func=_cmd_worker)

    password = sub.add_parser("set-password", help="set the dashboard password")
    _common(password)
    password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    password.set_defaults(func=_cmd_password)

    publish = sub.add_parser("publish-bundle", help="check, sign and publish a bundle made by `make bundle`")
    publish.add_argument("file", type=Path)
    _common(publish)
    publish.add_argument("--offer", metavar="DEVICE", default=None, help="offer it to this device at once")
    publish.add_argument("--offer-all", action="store_true", help="offer it to every device at once")
    publish.set_defaults(func=_cmd_publish)

    offer = sub.add_parser("offer", help="offer a published version to one device, or to all")
    offer.add_argument("version")
    _common(offer)
    who = offer.add_mutually_exclusive_group(required=True)
    who.add_argument("--device", default=None)
    who.add_argument("--all", action="store_true")
    offer.set_defaults(func=_cmd_offer)

    key = sub.add_parser("update-key", help="print the public key boxes trust bundles with (updates.public_key)")
    _common(key)
    key.set_defaults(func=_cmd_update_key)
    return parser


def _cmd_publish(args: argparse.Namespace) -> int:
    from piclient.server import updates

    def publish(db: Any) -> None:
        row = updates.prepare(args.data, args.file)
        db.write_sync(updates.publish, row)
        print(f"published {row['version']} (sha256 {row['sha256']}, {row['size']} bytes, signed)")
        if args.offer or args.offer_all:
            count = db.write_sync(updates.offer, row["version"], None if args.offer_all else args.offer)
            print(f"offered to {count} device(s)")

    return _with_updates(args, publish)


def _cmd_offer(args: argparse.Namespace) -> int:
    from piclient.server import updates

    def offer(db: Any) -> None:
        count = db.write_sync(updates.offer, args.version, None if args.all else args.device)
        print(f"version {args.version} offered to {count} device(s)")

    return _with_updates(args, offer)


def _with_updates(args: argparse.Namespace, job: Callable[[Any], None]) -> int:
    """Run ``job(db)``; an UpdateError is one line on stderr and exit status 1."""
    from piclient.server.updates import UpdateError

    db = _open(args)
    try:
        job(db)
    except UpdateError as exc:
        print(f"piclient server: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    return 0


def _cmd_update_key(args: argparse.Namespace) -> int:
    from piclient.server import updates

    args.data.mkdir(parents=True, exist_ok=True)
    print(updates.public_key(args.data))
    return 0


def _database_url(args: argparse.Namespace) -> str:
    from piclient.server.db import default_url

    return args.database or default_url(args.data)


def private_data_dir(data: Path) -> None:
    """Make ``data`` and what this process writes into it readable by this user alone.

    The directory holds the password hash, every box's tokens' hashes, screenshots of her living
    room and the boxes' logs. Older versions left it 0755 with 0644 files: the directory is closed
    (which closes everything below it) and the database's files are tightened on every start.
    """
    os.umask(0o077)
    data.mkdir(parents=True, exist_ok=True)
    os.chmod(data, 0o700)
    from piclient.server.db import SQLITE_FILE

    for suffix in ("", "-wal", "-shm"):
        path = data / f"{SQLITE_FILE}{suffix}"
        if path.exists():
            os.chmod(path, 0o600)


def _open(args: argparse.Namespace):  # -> Database, migrated
    from piclient.server import migrate
    from piclient.server.db import Database

    private_data_dir(args.data)
    db = Database(_database_url(args))
    migrate.upgrade(db.writer_engine)
    return db


def _cmd_add(args: argparse.Namespace) -> int:
    from piclient.server.devices import DeviceError, add_device

    db = _open(args)
    try:
        token = db.write_sync(add_device, args.name, new_token_for_existing=args.new_token)
    except DeviceError as exc:
        print(f"piclient server: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print(f"Device {args.name!r} {'has a new token' if args.new_token else 'added'}. "
          "The token is shown only this once; paste these lines into the box's piclient.yaml:\n")
    print("server:")
    print(f"  url: {args.url}")
    print(f"  token: {token}")
    return 0


def _cmd_revoke(args: argparse.Namespace) -> int:
    from piclient.server.devices import DeviceError, revoke_device

    ok, _ = _write_once(args, revoke_device, args.name, errors=DeviceError)
    if ok:
        print(f"Device {args.name!r} revoked: its token no longer works.")
    return 0 if ok else 1


def _cmd_list(args: argparse.Namespace) -> int:
    from piclient.server.devices import list_devices

    db = _open(args)
    try:
        rows = db.read_sync(list_devices)
    finally:
        db.close()
    for row in rows:
        print(f"{row.id}\t{row.name}\t{'revoked' if row.revoked_at else 'active'}")
    return 0


def _cmd_password(args: argparse.Namespace) -> int:
    from piclient.server.passwords import PasswordError, set_password

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New dashboard password: ")
        if getpass.getpass("Again: ") != password:
            print("piclient server: the two passwords differ; nothing changed", file=sys.stderr)
            return 1
    db = _open(args)
    try:
        db.write_sync(set_password, password)
    except PasswordError as exc:
        print(f"piclient server: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print("Password set.")
    return 0


def _write_once(args: argparse.Namespace, fn: Callable[..., Any], *fn_args: Any,
                errors: type[Exception]) -> tuple[bool, Any]:
    """One transaction for a subcommand: (True, result), or (False, None) after printing the refusal."""
    db = _open(args)
    try:
        return True, db.write_sync(fn, *fn_args)
    except errors as exc:
        print(f"piclient server: {exc}", file=sys.stderr)
        return False, None
    finally:
        db.close()


def _cmd_add_maintainer_token(args: argparse.Namespace) -> int:
    from piclient.server.maintainers import MaintainerTokenError, add_token

    ok, token = _write_once(args, add_token, args.name, errors=MaintainerTokenError)
    if not ok:
        return 1
    print(f"Maintainer token {args.name!r} added. It is shown only this once:\n\n{token}\n\n"
          "Use it as `piclient publish FILM --server URL --token TOKEN` (or PICLIENT_TOKEN=TOKEN).")
    return 0


def _cmd_revoke_maintainer_token(args: argparse.Namespace) -> int:
    from piclient.server.maintainers import MaintainerTokenError, revoke_token

    ok, _ = _write_once(args, revoke_token, args.name, errors=MaintainerTokenError)
    if ok:
        print(f"Maintainer token {args.name!r} revoked.")
    return 0 if ok else 1


def _cmd_worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from piclient.server.worker import Worker

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db = _open(args)
    worker = Worker(db, args.library.resolve(), args.data.resolve(), inbox=args.inbox,
                    inbox_settle_s=args.inbox_settle)
    try:
        if args.once:
            while worker.run_once():
                pass
            return 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        worker.run(stop)
    finally:
        db.close()
    return 0


def _split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"piclient server: --listen wants HOST:PORT, not {listen!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _split_smtp_host(value: str) -> tuple[str, int]:
    if value.startswith("["):  # [::1]:25
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
    elif value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, ""
    if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise SystemExit(f"piclient server: --smtp-host wants HOST or HOST:PORT, not {value!r}")
    return host, int(port) if port else (25 if host in LOCAL_HOSTS else 587)


def _email_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> EmailSettings | None:
    """The e-mail alert settings, or None without --alert-email; exits on a flag that makes no sense."""
    smtp_flags = {"--smtp-host": args.smtp_host, "--smtp-from": args.smtp_from, "--smtp-user": args.smtp_user}
    if not args.alert_email:
        given = [flag for flag, value in smtp_flags.items() if value]
        if given:
            raise SystemExit(f"piclient server: {', '.join(given)} only mean something with --alert-email")
        return None
    missing = [flag for flag in ("--smtp-host", "--smtp-from") if not smtp_flags[flag]]
    if missing:
        raise SystemExit(f"piclient server: --alert-email needs {' and '.join(missing)}")
    for flag, address in [*(("--alert-email", to) for to in args.alert_email), ("--smtp-from", args.smtp_from)]:
        if "@" not in address or any(c in address for c in "\r\n"):
            raise SystemExit(f"piclient server: {flag} wants an e-mail address, not {address!r}")
    password = environ.get(SMTP_PASSWORD_ENV) or None
    if args.smtp_user and password is None:
        raise SystemExit(f"piclient server: --smtp-user needs the password in the {SMTP_PASSWORD_ENV} "
                         "environment variable (never on the command line, where ps shows it)")
    host, port = _split_smtp_host(args.smtp_host)
    return EmailSettings(to=tuple(args.alert_email), sender=args.smtp_from, host=host, port=port,
                         user=args.smtp_user, password=password if args.smtp_user else None,
                         require_tls=host not in LOCAL_HOSTS)


def _metrics_token(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    if args.metrics_token is not None:
        raise SystemExit(f"piclient server: --metrics-token would show the token in `ps` to every user of this "
                         f"machine; put it in {METRICS_TOKEN_ENV} or in a file named by --metrics-token-file")
    if args.metrics_token_file is not None:
        try:
            token = args.metrics_token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SystemExit(f"piclient server: --metrics-token-file: {exc.strerror or exc}") from None
        if not token:
            raise SystemExit(f"piclient server: --metrics-token-file {args.metrics_token_file} is empty")
        return token
    return environ.get(METRICS_TOKEN_ENV, "").strip() or None


def _cmd_serve(args: argparse.Namespace) -> int:
    from piclient.server.serve import serve

    host, port = _split_listen(args.listen)
    email = _email_settings(args, os.environ)
    private_data_dir(args.data)
    if args.library is not None:
        from piclient.server.library import overlap

        if overlap(args.library.resolve(), args.data.resolve()):
            raise SystemExit(f"piclient server: --library {args.library} and --data {args.data} overlap; the "
                             "library is served to every box, so it must not hold the database (or be inside it). "
                             "Keep them in separate directories.")
    settings = Settings(
        data_dir=args.data.resolve(), database_url=_database_url(args),
        library_dir=args.library.resolve() if args.library else None, host=host, port=port,
        trust_proxy=args.trust_proxy, retention_days=args.retention_days,
        abandoned_upload_days=args.abandoned_upload_days,
        heartbeat_seconds=args.heartbeat_seconds, alert_webhook=args.alert_webhook, alert_ntfy=args.alert_ntfy,
        alert_email=email,
        alert_check_seconds=args.alert_check_seconds, cleanup_seconds=args.cleanup_seconds,
        metrics_token=_metrics_token(args, os.environ), box_quota_bytes=args.box_quota_mb * 1024 * 1024)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.inbox and not args.library:
        raise SystemExit("piclient server: --inbox needs --library (where the packaged films go)")
    with _worker_thread(args, settings):
        return serve(settings, log_level=args.log_level, access_log=args.access_log)


@contextlib.contextmanager
def _worker_thread(args: argparse.Namespace, settings: Settings) -> Iterator[None]:
    """One packaging worker beside the server, so a one-process setup needs nothing else."""
    if not settings.library_dir or args.no_worker:
        yield
        return
    import threading

    from piclient.server.worker import Worker

    db = _open(args)
    stop = threading.Event()
    worker = Worker(db, settings.library_dir, settings.data_dir, inbox=args.inbox, inbox_settle_s=args.inbox_settle)
    thread = threading.Thread(target=worker.run, args=(stop,), name="publish-worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
        db.close()


if __name__ == "__main__":
    raise SystemExit(main())
