"""A stand-in for Debian's libcec binding (``import cec``), for tests on machines without an adapter.

Only the names piclient's backend uses, with the real binding's constant values and defaults
(``tests/remote/test_fake_cec.py`` checks them against the real module when it is installed), and the
same callback shapes: key presses as ``(code, duration)``, commands as libcec's text (``">> 0f:36"``),
source changes as ``(logical address, activated)``, alerts as ``(alert, parameter type)``, log lines as
``(level, time, message)``.

Install it with ``monkeypatch.setitem(sys.modules, "cec", fake_cec)`` after ``fake_cec.reset()``. Tests
then plug or unplug adapters and fire bus traffic; every fire runs the callback on a separate thread,
as libcec does, and waits for it.

Where the real binding is lax the stand-in is strict: the configuration rejects unknown attribute
names (a typo would be silently ignored by libcec) and non-callable callbacks (the real one crashes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

LIBCEC_VERSION_CURRENT = 0x60002
CEC_DEFAULT_COMBO_TIMEOUT_MS = 1000

CEC_DEVICE_TYPE_TV = 0
CEC_DEVICE_TYPE_RECORDING_DEVICE = 1
CEC_DEVICE_TYPE_RESERVED = 2
CEC_DEVICE_TYPE_TUNER = 3
CEC_DEVICE_TYPE_PLAYBACK_DEVICE = 4
CEC_DEVICE_TYPE_AUDIO_SYSTEM = 5

CECDEVICE_UNKNOWN = -1
CECDEVICE_TV = 0
CECDEVICE_RECORDINGDEVICE1 = 1
CECDEVICE_PLAYBACKDEVICE1 = 4
CECDEVICE_AUDIOSYSTEM = 5
CECDEVICE_BROADCAST = 15
CECDEVICE_UNREGISTERED = 15

CEC_POWER_STATUS_ON = 0x00
CEC_POWER_STATUS_STANDBY = 0x01
CEC_POWER_STATUS_IN_TRANSITION_STANDBY_TO_ON = 0x02
CEC_POWER_STATUS_IN_TRANSITION_ON_TO_STANDBY = 0x03
CEC_POWER_STATUS_UNKNOWN = 0x99

CEC_OPCODE_IMAGE_VIEW_ON = 0x04
CEC_OPCODE_STANDBY = 0x36
CEC_OPCODE_USER_CONTROL_PRESSED = 0x44
CEC_OPCODE_USER_CONTROL_RELEASE = 0x45
CEC_OPCODE_ROUTING_CHANGE = 0x80
CEC_OPCODE_ROUTING_INFORMATION = 0x81
CEC_OPCODE_ACTIVE_SOURCE = 0x82
CEC_OPCODE_REQUEST_ACTIVE_SOURCE = 0x85
CEC_OPCODE_SET_STREAM_PATH = 0x86
CEC_OPCODE_GIVE_DEVICE_POWER_STATUS = 0x8F
CEC_OPCODE_REPORT_POWER_STATUS = 0x90
CEC_OPCODE_INACTIVE_SOURCE = 0x9D

CEC_ALERT_SERVICE_DEVICE = 0
CEC_ALERT_CONNECTION_LOST = 1
CEC_ALERT_PERMISSION_ERROR = 2
CEC_ALERT_PORT_BUSY = 3
CEC_ALERT_PHYSICAL_ADDRESS_ERROR = 4
CEC_ALERT_TV_POLL_FAILED = 5

CEC_LOG_ERROR = 0x01
CEC_LOG_WARNING = 0x02
CEC_LOG_NOTICE = 0x04
CEC_LOG_TRAFFIC = 0x08
CEC_LOG_DEBUG = 0x10

CEC_USER_CONTROL_CODE_SELECT = 0x00
CEC_USER_CONTROL_CODE_UP = 0x01
CEC_USER_CONTROL_CODE_DOWN = 0x02
CEC_USER_CONTROL_CODE_LEFT = 0x03
CEC_USER_CONTROL_CODE_RIGHT = 0x04
CEC_USER_CONTROL_CODE_ROOT_MENU = 0x09
CEC_USER_CONTROL_CODE_EXIT = 0x0D
CEC_USER_CONTROL_CODE_NUMBER0 = 0x20
CEC_USER_CONTROL_CODE_NUMBER9 = 0x29
CEC_USER_CONTROL_CODE_DISPLAY_INFORMATION = 0x35
CEC_USER_CONTROL_CODE_POWER = 0x40
CEC_USER_CONTROL_CODE_PLAY = 0x44
CEC_USER_CONTROL_CODE_STOP = 0x45
CEC_USER_CONTROL_CODE_PAUSE = 0x46
CEC_USER_CONTROL_CODE_REWIND = 0x48
CEC_USER_CONTROL_CODE_FAST_FORWARD = 0x49
CEC_USER_CONTROL_CODE_PAUSE_PLAY_FUNCTION = 0x61
CEC_USER_CONTROL_CODE_STOP_FUNCTION = 0x64
CEC_USER_CONTROL_CODE_F1_BLUE = 0x71
CEC_USER_CONTROL_CODE_F2_RED = 0x72
CEC_USER_CONTROL_CODE_F3_GREEN = 0x73
CEC_USER_CONTROL_CODE_F4_YELLOW = 0x74
CEC_USER_CONTROL_CODE_UNKNOWN = 0xFF

_CALLBACK_NAMES = ("log", "key", "command", "menu", "source", "alert", "configuration")
_FIRE_TIMEOUT_S = 2.0


# Lower-case class names and CamelCase methods are the binding's own.


class cec_device_type_list:
    """Five slots; unused ones hold CEC_DEVICE_TYPE_RESERVED, as in libcec."""

    __slots__ = ("types",)

    def __init__(self) -> None:
        self.types = [CEC_DEVICE_TYPE_RESERVED] * 5

    def Clear(self) -> None:
        self.types = [CEC_DEVICE_TYPE_RESERVED] * 5

    def Add(self, device_type: int) -> None:
        for i, slot in enumerate(self.types):
            if slot == CEC_DEVICE_TYPE_RESERVED:
                self.types[i] = device_type
                return

    def IsSet(self, device_type: int) -> bool:
        return device_type in self.types

    def IsEmpty(self) -> bool:
        return all(slot == CEC_DEVICE_TYPE_RESERVED for slot in self.types)

    def __getitem__(self, pos: int) -> int:
        return self.types[pos]

    def set_types(self) -> list[int]:
        return [t for t in self.types if t != CEC_DEVICE_TYPE_RESERVED]


class cec_logical_addresses:
    __slots__ = ("addresses", "primary")

    def __init__(self) -> None:
        self.primary = CECDEVICE_UNREGISTERED
        self.addresses = [0] * 16

    def Clear(self) -> None:
        self.primary = CECDEVICE_UNREGISTERED
        self.addresses = [0] * 16

    def Set(self, address: int) -> None:
        if self.primary == CECDEVICE_UNREGISTERED:
            self.primary = address
        self.addresses[address] = 1

    def Unset(self, address: int) -> None:
        self.addresses[address] = 0

    def IsSet(self, address: int) -> bool:
        return bool(self.addresses[address])

    def IsEmpty(self) -> bool:
        return self.primary == CECDEVICE_UNREGISTERED

    def set_addresses(self) -> set[int]:
        return {a for a, flag in enumerate(self.addresses) if flag}


class AdapterDescriptor:
    def __init__(self, com_name: str, com_path: str = "") -> None:
        self.strComName = com_name
        self.strComPath = com_path or com_name


class libcec_configuration:
    """libcec's defaults, as ``libcec_configuration::Clear()`` sets them."""

    __slots__ = (
        "_callbacks",
        "bActivateSource",
        "bPowerOffOnStandby",
        "clientVersion",
        "comboKey",
        "deviceTypes",
        "iButtonReleaseDelayMs",
        "iButtonRepeatRateMs",
        "iComboKeyTimeoutMs",
        "iDoubleTapTimeoutMs",
        "powerOffDevices",
        "strDeviceName",
        "wakeDevices",
    )

    def __init__(self) -> None:
        self.clientVersion = LIBCEC_VERSION_CURRENT
        self.strDeviceName = ""
        self.deviceTypes = cec_device_type_list()
        self.bActivateSource = 1
        self.wakeDevices = cec_logical_addresses()
        self.wakeDevices.Set(CECDEVICE_TV)
        self.powerOffDevices = cec_logical_addresses()
        self.bPowerOffOnStandby = 1
        self.comboKey = CEC_USER_CONTROL_CODE_STOP
        self.iComboKeyTimeoutMs = CEC_DEFAULT_COMBO_TIMEOUT_MS
        self.iButtonRepeatRateMs = 0
        self.iButtonReleaseDelayMs = 500
        self.iDoubleTapTimeoutMs = 200
        self._callbacks: dict[str, Callable[..., Any]] = {}

    def _set(self, name: str, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"{name} callback must be callable, not {fn!r}")
        self._callbacks[name] = fn

    def SetLogCallback(self, fn: Callable[..., Any]) -> None:
        self._set("log", fn)

    def SetKeyPressCallback(self, fn: Callable[..., Any]) -> None:
        self._set("key", fn)

    def SetCommandCallback(self, fn: Callable[..., Any]) -> None:
        self._set("command", fn)

    def SetMenuStateCallback(self, fn: Callable[..., Any]) -> None:
        self._set("menu", fn)

    def SetSourceActivatedCallback(self, fn: Callable[..., Any]) -> None:
        self._set("source", fn)

    def SetAlertCallback(self, fn: Callable[..., Any]) -> None:
        self._set("alert", fn)

    def SetConfigurationChangedCallback(self, fn: Callable[..., Any]) -> None:
        self._set("configuration", fn)

    def ClearCallbacks(self) -> None:
        self._callbacks.clear()


class ICECAdapter:
    """One libcec instance. ``Create`` copies the configuration, as libcec does: later changes to the
    Python configuration object do not reach it."""

    def __init__(self, configuration: libcec_configuration) -> None:
        self.client_version = configuration.clientVersion
        self.device_name = configuration.strDeviceName
        self.device_types = configuration.deviceTypes.set_types()
        self.activate_source = configuration.bActivateSource
        self.wake_devices = configuration.wakeDevices.set_addresses()
        self.power_off_devices = configuration.powerOffDevices.set_addresses()
        self.combo_key_timeout_ms = configuration.iComboKeyTimeoutMs
        self.combo_key = configuration.comboKey
        self.button_repeat_rate_ms = configuration.iButtonRepeatRateMs
        self._callbacks = dict(configuration._callbacks)
        self.is_open = False
        self.opened_ports: list[str] = []
        self.detect_calls = 0
        self.close_calls = 0
        self.active_source_calls = 0
        self.power_on_calls: list[int] = []
        self.power_status_queries = 0

    @staticmethod
    def Create(configuration: libcec_configuration) -> ICECAdapter:
        adapter = ICECAdapter(configuration)
        world.created.append(adapter)
        return adapter

    def DetectAdapters(
        self, path: str | None = None, quickscan: bool = False
    ) -> tuple[AdapterDescriptor, ...]:
        self.detect_calls += 1
        return tuple(AdapterDescriptor(port) for port in world.ports)

    def Open(self, port: str, timeout_ms: int = 10000) -> bool:
        if self.is_open:
            return False
        if port not in world.ports:
            return False
        if world.busy:
            self._call("alert", CEC_ALERT_PORT_BUSY, 0)
            return False
        self.is_open = True
        self.opened_ports.append(port)
        return True

    def Close(self) -> None:
        self.close_calls += 1
        self.is_open = False

    def GetLogicalAddresses(self) -> cec_logical_addresses:
        addresses = cec_logical_addresses()
        if self.is_open:
            # Type playback gets the first free playback address, 4 on a bus with no other players.
            addresses.Set(CECDEVICE_PLAYBACKDEVICE1)
        return addresses

    def GetDevicePhysicalAddress(self, address: int) -> int:
        return world.physical_address if self.is_open and address == CECDEVICE_PLAYBACKDEVICE1 else 0xFFFF

    def GetDevicePowerStatus(self, address: int) -> int:
        self.power_status_queries += 1
        if not self.is_open or address != CECDEVICE_TV:
            return CEC_POWER_STATUS_UNKNOWN
        return world.tv_power

    def SetActiveSource(self, device_type: int = CEC_DEVICE_TYPE_RESERVED) -> bool:
        if not self.is_open:
            return False
        self.active_source_calls += 1
        return world.accepts_active_source

    def PowerOnDevices(self, address: int = CECDEVICE_TV) -> bool:
        if not self.is_open:
            return False
        self.power_on_calls.append(address)
        if address == CECDEVICE_TV:
            world.tv_power = CEC_POWER_STATUS_ON
        return True

    # -- what the bus does, driven by tests ---------------------------------------------------------

    def press(self, code: int) -> None:
        self._fire("key", code, 0)

    def release(self, code: int, duration_ms: int = 120) -> None:
        self._fire("key", code, duration_ms)

    def receive(self, initiator: int, destination: int, opcode: int, *params: int,
                forward_standby: bool = True) -> None:
        """A command from the bus, as the binding renders it: ``>> 0f:36``. libcec logs every frame it
        receives at traffic level first, then forwards it to the command callback, except a <Standby>
        within 10 s of the one before (``forward_standby`` False plays that)."""
        text = f">> {initiator:1x}{destination:1x}:{opcode:02x}" + "".join(f":{p:02x}" for p in params)
        self._fire("log", CEC_LOG_TRAFFIC, 0, text)
        if opcode != CEC_OPCODE_STANDBY or forward_standby:
            self._fire("command", text)

    def source_activated(self, address: int, activated: bool) -> None:
        self._fire("source", address, int(activated))

    def alert(self, alert: int, param_type: int = 0) -> None:
        self._fire("alert", alert, param_type)

    def log(self, level: int, message: str) -> None:
        self._fire("log", level, 0, message)

    def _call(self, name: str, *args: Any) -> None:
        callback = self._callbacks.get(name)
        if callback is None:
            return
        try:
            callback(*args)
        except BaseException as exc:  # libcec cannot handle a Python error; record it for the test
            world.escaped.append(exc)

    def _fire(self, name: str, *args: Any) -> None:
        if not self.is_open:
            raise RuntimeError("libcec delivers nothing while the adapter is closed")
        thread = threading.Thread(target=self._call, args=(name, *args), name="fake-libcec")
        thread.start()
        thread.join(_FIRE_TIMEOUT_S)
        if thread.is_alive():
            raise TimeoutError(f"the {name} callback blocked libcec's thread")


class World:
    """What is plugged in and how the TV behaves."""

    def __init__(self) -> None:
        self.ports: list[str] = []
        self.busy = False
        self.physical_address = 0x1000  # HDMI 1 of the TV
        self.tv_power = CEC_POWER_STATUS_ON
        self.accepts_active_source = True
        self.created: list[ICECAdapter] = []
        self.escaped: list[BaseException] = []


world = World()


def reset() -> World:
    global world
    world = World()
    return world


def plug(port: str = "/dev/cec0") -> None:
    world.ports.append(port)


def unplug() -> None:
    world.ports.clear()


def last() -> ICECAdapter:
    """The libcec instance the code under test created."""
    if not world.created:
        raise AssertionError("no libcec instance was created")
    return world.created[-1]
