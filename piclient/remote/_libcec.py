"""libcec through Debian's official binding (python3-cec), kept thin.

The only module that touches ``cec``, and it imports it when a backend is built, not at import time,
so ``import piclient`` works on a laptop without libcec and tests can put a stand-in in its place.
Everything here translates: libcec callbacks become ``on_key(code, pressed)`` and
``on_bus(kind, detail)``; deciding what they mean for the viewer is ``piclient.remote.cec``'s job.

Callbacks run on libcec's own thread. They never raise into libcec (the binding would leave a Python
error set on that thread) and never block.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from piclient.config.schema import CecConfig
from piclient.remote.cec import TvPower

log = logging.getLogger(__name__)

KeyCallback = Callable[[int, bool], None]
BusCallback = Callable[[str, dict[str, Any]], None]

_INVALID_PHYSICAL_ADDRESS = 0xFFFF
# How libcec's Linux adapter logs a kernel CEC device that no longer exists (ENODEV).
_DEVICE_GONE = "errno=19"


# The kernel's CEC ioctl that reads an adapter's physical address: _IOR('a', 1, __u16).
_CEC_ADAP_G_PHYS_ADDR = 0x80026101
# libcec 6 opens /dev/cec0 and no other (CEC_LINUX_PATH); newer releases take /dev/cecN.
LIBCEC_DEVICE = "/dev/cec0"


def kernel_physical_address(path: str) -> int | None:
    """The physical address the kernel gives a CEC device (0xFFFF: no TV behind that HDMI port)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        value = bytearray(2)
        fcntl.ioctl(fd, _CEC_ADAP_G_PHYS_ADDR, value)
        return int.from_bytes(value, sys.byteorder)
    except OSError:
        return None
    finally:
        os.close(fd)


def port_hint(devices: list[str], physical_address: Callable[[str], int | None] = kernel_physical_address,
              ) -> str | None:
    """Why libcec sees no TV when the TV is plugged into another HDMI port than libcec's.

    On a Pi with Debian's kernel, vc4 makes one CEC device per HDMI port (/dev/cec0 for HDMI 0,
    /dev/cec1 for HDMI 1) and libcec 6 only ever opens /dev/cec0.
    """
    if LIBCEC_DEVICE not in devices or physical_address(LIBCEC_DEVICE) != _INVALID_PHYSICAL_ADDRESS:
        return None
    for other in devices:
        if other == LIBCEC_DEVICE:
            continue
        address = physical_address(other)
        if address is not None and address != _INVALID_PHYSICAL_ADDRESS:
            return (f"the TV is on the HDMI port of {other}, but libcec only uses {LIBCEC_DEVICE}: "
                    "plug the TV into HDMI 0 (on a Raspberry Pi the port next to the power socket)")
    return None


def _cec_devices() -> list[str]:
    return sorted(str(path) for path in Path("/dev").glob("cec[0-9]*"))


def format_physical_address(address: int) -> str:
    return ".".join(str(address >> shift & 0xF) for shift in (12, 8, 4, 0))


def _routes_through(route: int, own: int) -> bool:
    """Whether routing to ``route`` still reaches ``own`` (it is ``own`` or a switch above it).

    A TV that selects the AVR we sit behind routes to the AVR first; that is not "switched away".
    0.0.0.0 is the TV itself (its tuner or apps), which is away from us even though it is the root.
    """
    if route == 0:
        return False
    for shift in (12, 8, 4, 0):
        nibble = route >> shift & 0xF
        if nibble == 0:
            return True
        if nibble != own >> shift & 0xF:
            return False
    return True


def parse_command(text: str) -> tuple[int, int, int | None, list[int]] | None:
    """``">> 0f:36"`` (the binding's command text) to (initiator, destination, opcode, parameters)."""
    body = text.strip().lstrip("<>").strip()
    try:
        fields = [int(field, 16) for field in body.split(":")]
    except ValueError:
        return None
    if not fields or not 0 <= fields[0] <= 0xFF:
        return None
    header, rest = fields[0], fields[1:]
    opcode = rest[0] if rest else None  # a bare header is a poll
    return header >> 4, header & 0xF, opcode, rest[1:]


class LibCecBackend:
    """One libcec client, registered as a playback device; ``open`` may be called again after a failure."""

    def __init__(self, config: CecConfig, name: str, on_key: KeyCallback, on_bus: BusCallback) -> None:
        self._cec: Any = importlib.import_module("cec")
        self._config = config
        self._on_key = on_key
        self._on_bus = on_bus
        self._lib: Any = None
        self._is_open = False
        self._own_address: int | None = None
        self._own_physical: int | None = None
        self._alert_detail: str | None = None
        self._gone = False  # libcec's device vanished under it (see _log_message)
        self.detail = ""
        # Kept on self: the binding holds the Python callbacks through this object.
        self._configuration = self._build_configuration(name)

    def _build_configuration(self, name: str) -> Any:
        cec = self._cec
        cfg = cec.libcec_configuration()
        cfg.clientVersion = cec.LIBCEC_VERSION_CURRENT
        cfg.strDeviceName = name
        # A playback device is what TVs list as a source and send remote keys to; libcec's default
        # (and PyPI `cec`'s only choice) is a recording device, which some TVs hide or treat as a tuner.
        cfg.deviceTypes.Clear()
        cfg.deviceTypes.Add(cec.CEC_DEVICE_TYPE_PLAYBACK_DEVICE)
        # Taking the TV's input at start would pull the TV away from whatever she is watching
        # whenever the box reboots; we take it only when she presses a key or a film starts.
        cfg.bActivateSource = 0
        # libcec powers on wakeDevices when it opens (its default is the TV) and powers off
        # powerOffDevices when it closes: a box rebooting at night would switch the TV on. Both stay
        # empty even with cec.wake_tv; waking is an explicit call when a film starts.
        cfg.wakeDevices.Clear()
        cfg.powerOffDevices.Clear()
        # STOP is libcec's default combo key: it holds STOP back for up to a second to see whether
        # another key follows, and then sends no press at all. A zero timeout alone is not enough
        # (libcec 6.0.2 still swallows the press of the combo key): the combo key must be none.
        cfg.comboKey = cec.CEC_USER_CONTROL_CODE_UNKNOWN
        cfg.iComboKeyTimeoutMs = 0
        # Held keys reach us as presses and a release; the launcher's KeyRepeater sets the rate, so
        # libcec must not invent repeats of its own.
        cfg.iButtonRepeatRateMs = 0
        cfg.SetLogCallback(self._log_message)
        cfg.SetKeyPressCallback(self._key_press)
        cfg.SetCommandCallback(self._command)
        cfg.SetSourceActivatedCallback(self._source_activated)
        cfg.SetAlertCallback(self._alert)
        return cfg

    # -- called from CecRemote's worker thread -------------------------------------------------------

    def open(self) -> bool:
        cec = self._cec
        if self._lib is None:
            self._lib = cec.ICECAdapter.Create(self._configuration)
            if self._lib is None:
                self.detail = "libcec could not be initialised"
                return False
        port = self._config.adapter
        if not port:
            adapters = self._lib.DetectAdapters()
            if not adapters:
                self.detail = "no HDMI-CEC adapter found"
                return False
            port = adapters[0].strComName
        self._alert_detail = None
        self._gone = False
        if not self._lib.Open(port):
            reason = self._alert_detail or port_hint(_cec_devices())
            self.detail = f"HDMI-CEC adapter {port} could not be opened" + (f" ({reason})" if reason else "")
            self._lib.Close()  # a half-started connection would make the next Open fail too
            return False
        self._is_open = True
        self._own_address = self._lib.GetLogicalAddresses().primary
        physical = self._lib.GetDevicePhysicalAddress(self._own_address)
        self._own_physical = None if physical == _INVALID_PHYSICAL_ADDRESS else physical
        where = format_physical_address(physical) if self._own_physical is not None else "unknown"
        self.detail = f"{port}, logical address {self._own_address}, physical address {where}"
        hint = port_hint(_cec_devices()) if self._own_physical is None else None
        if hint:
            self.detail += f"; {hint}"
            log.warning("HDMI-CEC: %s", hint)
        return True

    def close(self) -> None:
        if self._lib is not None and self._is_open:
            self._is_open = False
            self._lib.Close()

    def set_active_source(self) -> bool:
        return self._is_open and bool(self._lib.SetActiveSource())

    def power_on_tv(self) -> bool:
        return self._is_open and bool(self._lib.PowerOnDevices(self._cec.CECDEVICE_TV))

    def tv_power(self) -> TvPower:
        if not self._is_open:
            return "unknown"
        return self._power(self._lib.GetDevicePowerStatus(self._cec.CECDEVICE_TV))

    def _power(self, status: int) -> TvPower:
        cec = self._cec
        if status in (cec.CEC_POWER_STATUS_ON, cec.CEC_POWER_STATUS_IN_TRANSITION_STANDBY_TO_ON):
            return "on"
        if status in (cec.CEC_POWER_STATUS_STANDBY, cec.CEC_POWER_STATUS_IN_TRANSITION_ON_TO_STANDBY):
            return "standby"
        return "unknown"

    # -- called from libcec's thread -----------------------------------------------------------------

    def _key_press(self, code: int, duration: int) -> int:
        # libcec reports a press with duration 0 and the release with how long the key was held.
        try:
            self._on_key(int(code), duration == 0)
        except Exception:
            log.exception("HDMI-CEC key 0x%02x could not be handled", code)
        return 0

    def _source_activated(self, address: int, activated: int) -> int:
        # libcec's own bookkeeping of who is the active source, not what the bus said: even with
        # bActivateSource off it reports "activated" on the first key the TV forwards, without a
        # frame on the bus. Only losing the source is passed on; becoming it is known from our own
        # <Active Source> (set_active_source) and from the TV selecting us (<Set Stream Path>).
        try:
            if not activated:
                self._on_bus("input_switched_away", {"address": int(address)})
            else:
                log.debug("libcec marked logical address %s as the active source", address)
        except Exception:
            log.exception("HDMI-CEC source change could not be handled")
        return 0

    def _command(self, text: str) -> int:
        try:
            parsed = parse_command(text)
            if parsed is not None:
                self._handle_command(*parsed)
        except Exception:
            log.exception("HDMI-CEC command %r could not be handled", text)
        return 0

    def _handle_command(self, initiator: int, destination: int, opcode: int | None, params: list[int]) -> None:
        cec = self._cec
        from_tv = initiator == cec.CECDEVICE_TV
        if opcode == cec.CEC_OPCODE_STANDBY:
            return  # seen in the bus traffic instead (_traffic): libcec drops repeats within 10 s here
        if opcode == cec.CEC_OPCODE_REPORT_POWER_STATUS and from_tv and params:
            self._on_bus("tv_power", {"power": self._power(params[0])})
        elif opcode == cec.CEC_OPCODE_REQUEST_ACTIVE_SOURCE and from_tv:
            # A TV asks "who is the source?" as it comes on.
            self._on_bus("tv_power", {"power": "on"})
        elif opcode == cec.CEC_OPCODE_ACTIVE_SOURCE and initiator != self._own_address:
            route = params[0] << 8 | params[1] if len(params) >= 2 else None
            detail = {"from": initiator}
            if route is not None:
                detail["to"] = format_physical_address(route)
            self._on_bus("input_switched_away", detail)
        elif opcode in (
            cec.CEC_OPCODE_ROUTING_CHANGE,
            cec.CEC_OPCODE_ROUTING_INFORMATION,
            cec.CEC_OPCODE_SET_STREAM_PATH,
        ):
            if from_tv:
                self._on_bus("tv_power", {"power": "on"})
            # Routing Change carries (old, new); the others carry only the new route.
            new = params[-2:] if len(params) >= 2 else None
            if new is not None and self._own_physical is not None:
                route = new[0] << 8 | new[1]
                if not _routes_through(route, self._own_physical):
                    self._on_bus("input_switched_away", {"from": initiator, "to": format_physical_address(route)})
                elif opcode == cec.CEC_OPCODE_SET_STREAM_PATH and route == self._own_physical:
                    # The TV selected this box itself (its input list); libcec answers with <Active Source>.
                    self._on_bus("active_source", {"by": "tv"})

    def _traffic(self, message: str) -> None:
        """A frame libcec received (">> 0f:36"), before libcec's own filtering of what it forwards."""
        parsed = parse_command(message) if message.startswith(">>") else None
        if parsed is None:
            return
        initiator, destination, opcode, _params = parsed
        # <Standby> is taken from here, not from the command callback: libcec forwards at most one
        # <Standby> every 10 s there, and a TV switched off, on and off again within 10 s would
        # otherwise leave the film playing to a dark room.
        if opcode == self._cec.CEC_OPCODE_STANDBY and destination in (self._cec.CECDEVICE_BROADCAST,
                                                                        self._own_address):
            self._on_bus("tv_standby", {"from": initiator})

    def _alert(self, alert: int, *_param: object) -> int:
        # The binding's argument list for alerts has changed between libcec versions; only the first
        # (the alert type) is relied on.
        cec = self._cec
        try:
            if alert == cec.CEC_ALERT_CONNECTION_LOST:
                self._on_bus("connection_lost", {})
            elif alert == cec.CEC_ALERT_PERMISSION_ERROR:
                self._alert_detail = "permission denied; is the service user in the 'video' group?"
            elif alert == cec.CEC_ALERT_PORT_BUSY:
                self._alert_detail = "in use by another program, for example cec-client"
            else:
                log.debug("libcec alert %s", alert)
        except Exception:
            log.exception("libcec alert %r could not be handled", alert)
        return 0

    def _log_message(self, level: int, _time: int, message: str) -> int:
        # libcec is chatty (every bus frame at TRAFFIC level); its errors are worth a line at info,
        # the rest only when debugging. Our own summary lines carry what the maintainer needs.
        try:
            if level & self._cec.CEC_LOG_ERROR and _DEVICE_GONE in message:
                # libcec 6.0.2 sends no CONNECTION_LOST alert when the kernel's CEC device goes away
                # (driver unbound, module reloaded): its reader thread retries the dead descriptor
                # in a tight loop, logging this each time. Report the loss once; closing stops it.
                if not self._gone:
                    self._gone = True
                    log.info("libcec: %s", message)
                    self._on_bus("connection_lost", {"reason": "the HDMI-CEC device went away"})
                return 0
            log.log(logging.INFO if level & self._cec.CEC_LOG_ERROR else logging.DEBUG, "libcec: %s", message)
            if level & self._cec.CEC_LOG_TRAFFIC:
                self._traffic(message)
        except Exception:
            log.exception("libcec log line %r could not be handled", message)
        return 0
