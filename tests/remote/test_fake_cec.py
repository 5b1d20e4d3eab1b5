"""The stand-in must not drift from Debian's binding, or the CEC tests would prove nothing.

Skipped where python3-cec is not installed. The real binding is only introspected and configured here;
nothing detects or opens an adapter.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from piclient.remote._libcec import parse_command
from tests import fake_cec

_CLASSES = ("libcec_configuration", "ICECAdapter", "cec_device_type_list", "cec_logical_addresses")


def _public_names(obj: object) -> set[str]:
    names = {name for name in dir(obj) if name[:1].isupper()}
    names |= {name for name in getattr(obj, "__slots__", ()) if not name.startswith("_")}
    return names


def test_the_fakes_constants_have_the_real_bindings_values():
    real = pytest.importorskip("cec")
    names = [n for n in dir(fake_cec) if n.isupper() and n.startswith(("CEC", "LIBCEC"))]
    assert len(names) > 50
    wrong = {n: (getattr(fake_cec, n), getattr(real, n, "missing")) for n in names}
    wrong = {n: values for n, values in wrong.items() if values[0] != values[1]}
    assert wrong == {}


@pytest.mark.parametrize("class_name", _CLASSES)
def test_every_name_the_fake_offers_exists_in_the_real_binding(class_name):
    # The backend is tested against the fake, so a name only the fake has would pass here and fail on a Pi.
    real = pytest.importorskip("cec")
    fake_names = _public_names(getattr(fake_cec, class_name))
    assert fake_names - set(dir(getattr(real, class_name))) == set()


def test_the_fakes_configuration_starts_from_libcecs_real_defaults():
    real = pytest.importorskip("cec")
    ours, theirs = fake_cec.libcec_configuration(), real.libcec_configuration()
    for name in ("clientVersion", "strDeviceName", "bActivateSource", "iComboKeyTimeoutMs", "comboKey",
                 "iButtonRepeatRateMs", "iButtonReleaseDelayMs", "iDoubleTapTimeoutMs", "bPowerOffOnStandby"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.wakeDevices.IsSet(fake_cec.CECDEVICE_TV) == theirs.wakeDevices.IsSet(real.CECDEVICE_TV)
    assert ours.powerOffDevices.IsEmpty() == theirs.powerOffDevices.IsEmpty()
    assert ours.deviceTypes.IsEmpty() == theirs.deviceTypes.IsEmpty()


def test_the_fakes_configuration_refuses_a_misspelt_setting():
    with pytest.raises(AttributeError):
        fake_cec.libcec_configuration().iComboKeyTimeOutMs = 0  # type: ignore[attr-defined]


def test_the_backend_configures_the_real_binding_as_intended():
    # In a child process: the SWIG binding crashes rather than raises on some misuse, and a crash must
    # fail this test, not the whole run.
    pytest.importorskip("cec")
    code = """
import json
from piclient.config.schema import CecConfig
from piclient.remote._libcec import LibCecBackend
import cec
backend = LibCecBackend(CecConfig(), "Living room", lambda code, pressed: None, lambda kind, detail: None)
cfg = backend._configuration
print(json.dumps({
    "playback": bool(cfg.deviceTypes.IsSet(cec.CEC_DEVICE_TYPE_PLAYBACK_DEVICE)),
    "recording": bool(cfg.deviceTypes.IsSet(cec.CEC_DEVICE_TYPE_RECORDING_DEVICE)),
    "name": cfg.strDeviceName,
    "client_version": cfg.clientVersion == cec.LIBCEC_VERSION_CURRENT,
    "activate_source": cfg.bActivateSource,
    "wake_empty": bool(cfg.wakeDevices.IsEmpty()),
    "power_off_empty": bool(cfg.powerOffDevices.IsEmpty()),
    "combo_ms": cfg.iComboKeyTimeoutMs,
    "repeat_ms": cfg.iButtonRepeatRateMs,
}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "playback": True,
        "recording": False,
        "name": "Living room",
        "client_version": True,
        "activate_source": 0,
        "wake_empty": True,
        "power_off_empty": True,
        "combo_ms": 0,
        "repeat_ms": 0,
    }


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        (">> 0f:36", (0, 15, 0x36, [])),
        (">> 04:90:01", (0, 4, 0x90, [0x01])),
        (">> 0f:80:10:00:20:00", (0, 15, 0x80, [0x10, 0x00, 0x20, 0x00])),
        (">> 40", (4, 0, None, [])),
        ("garbage", None),
        ("", None),
    ],
)
def test_libcecs_command_text_is_parsed_back_into_numbers(text, parsed):
    assert parse_command(text) == parsed
