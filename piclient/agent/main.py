"""`piclient agent`: build the parts in order, run the loops, and take everything down in reverse.

The main thread only watches: it pings the systemd watchdog while heartbeats keep coming (a stuck
heartbeat loop means systemd restarts the agent) and keeps the unit's status line current.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time

from piclient.agent.actions import Actions
from piclient.agent.catalog import CatalogSyncer
from piclient.agent.channel import CommandChannel
from piclient.agent.commands import CommandRunner
from piclient.agent.heartbeat import Heartbeats
from piclient.agent.live import LiveMode
from piclient.agent.logupload import FileSource, JournalSource, LogSource, LogUploader, SocketJournalSource
from piclient.agent.loops import Loop, stop_all
from piclient.agent.progress import ProgressSync
from piclient.agent.schedule import SyncSchedule
from piclient.agent.screenshots import Screenshots
from piclient.agent.spool import Spool
from piclient.agent.system import SystemProbe
from piclient.agent.transport import Transport, new_session
from piclient.agent.tvlink import TvLink
from piclient.agent.updates import AgentUpdates
from piclient.agent.uplink import Uplink
from piclient.catalog.cache import CatalogCache
from piclient.config import Config
from piclient.service import Service
from piclient.update.layout import Layout

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0
STATUS_EVERY_S = 10.0
# piclient-journal.socket (systemd/): the piclient units' journal for an agent that may not read the rest.
JOURNAL_SOCKET = "/run/piclient-journal.sock"


def run_agent(config: Config, stop: threading.Event | None = None) -> int:
    if not config.server.url or not config.server.token:
        log.error("server.url and server.token must both be set for the agent; see config.example.yaml")
        return 2
    stop = stop or threading.Event()
    _install_signal_handlers(stop)
    service = Service()
    settings = config.agent
    data = config.paths.data
    with contextlib.ExitStack() as stack:
        data.mkdir(parents=True, exist_ok=True)
        spool = Spool(data / "agent" / "spool.db", settings.spool_max_bytes, settings.spool_max_age_hours * 3600)
        stack.callback(spool.close)
        transport = Transport(config.server.url, config.server.token, timeout_s=settings.http_timeout_seconds,
                              backoff_max_s=settings.backoff_max_seconds, auth_retry_s=settings.auth_retry_seconds)
        stack.callback(transport.close)
        tv = TvLink(config.paths.socket, settings.control_timeout_seconds, settings.tv_unit)
        stack.callback(tv.close)

        uplink = Uplink(spool, transport, stop)
        uplink_loop = Loop("uplink", uplink.step)
        wake_uplink = uplink_loop.wake

        catalog = None
        if config.catalog.source:
            log.info("catalog.source is set, so the launcher keeps its own catalog; the agent leaves it alone")
        else:
            catalog = CatalogSyncer(config.server.url, config.server.token, CatalogCache(data), tv,
                                    settings.http_timeout_seconds)
            stack.callback(catalog.close)

        live = LiveMode()
        screenshots = Screenshots(tv, spool, transport, live, wake_uplink, settings.screenshot_seconds)
        actions = Actions(tv, screenshots, catalog, settings.restart_tv_command, settings.reboot_command,
                          _log_source(config), LogUploader(transport, stop), stop)
        runner = CommandRunner(spool, actions.handlers(), wake_uplink)
        channel = CommandChannel(transport, live, runner.submit, stop)
        heartbeats = Heartbeats(config.device.name, settings.heartbeat_seconds, tv, SystemProbe(data), spool,
                                transport, live, screenshots, runner, wake_uplink, offered=actions.offered(),
                                updates=AgentUpdates(Layout(root=data / "updates"),
                                                     new_session(config.server.url, config.server.token),
                                                     config.server.url))
        uplink.on_reply = heartbeats.handle_reply
        progress = ProgressSync(data / "state.db", spool, transport, wake_uplink)
        schedule = SyncSchedule(catalog, progress, transport, config.catalog.refresh_minutes * 60,
                                settings.progress_seconds)

        heartbeat_loop = Loop("heartbeat", heartbeats.step)
        screenshot_loop = Loop("screenshots", screenshots.step)
        channel_loop = Loop("commands", channel.step)
        transport.on_recovered.append(channel_loop.wake)
        screenshots.wake = screenshot_loop.wake
        live.on_start += [screenshot_loop.wake, heartbeat_loop.wake]
        loops = [uplink_loop, heartbeat_loop, screenshot_loop, channel_loop, *runner.loops.values(),
                 Loop("sync", schedule.step)]

        runner.recover()
        # Registered before the loops start, so it runs after they stopped: the last word is "going down".
        stack.callback(heartbeats.going_down)
        for loop in loops:
            loop.start()
        stack.callback(stop_all, loops, STOP_TIMEOUT_S)
        # Runs first on the way out: a held command poll ends now rather than at its next look at `stop`.
        stack.callback(transport.interrupt_waits)
        log.info("agent for %r reporting to %s every %g s", config.device.name, config.server.url,
                 settings.heartbeat_seconds)
        service.ready("reporting")

        next_status = 0.0
        while not stop.wait(1.0):
            now = time.monotonic()
            # The pace is the server's to change, so the allowance follows it.
            stale_after = 3 * max(heartbeats.interval_s, 10) + 4 * settings.control_timeout_seconds
            if now - heartbeat_loop.last_step < stale_after:
                service.watchdog(now)
            if now >= next_status:
                next_status = now + STATUS_EVERY_S
                state = heartbeats.last_state.state if heartbeats.last_state else "unknown"
                service.notify(f"STATUS=tv {state}; {transport.status_line()}; "
                               f"{spool.stats()['pending']} record(s) waiting")
        log.info("stopping")
        service.stopping()
    log.info("agent stopped")
    return 0


def _log_source(config: Config) -> LogSource:
    if config.agent.log_file:
        return FileSource(*config.agent.log_file)
    return SocketJournalSource(JOURNAL_SOCKET, JournalSource(config.agent.log_units))


def _install_signal_handlers(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
