"""The ``system:`` section as the files Debian reads at boot. Pure: config in, file contents out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from piclient.config.schema import SystemConfig


@dataclass(frozen=True)
class File:
    content: str
    mode: int = 0o644
    # A symlink target instead of content (/etc/localtime).
    link: str = ""


# sshd reads the keys from here (image/rootfs/etc/ssh/sshd_config.d/piclient.conf); ssh.service starts
# only when this flag exists (its drop-in's ConditionPathExists=).
AUTHORIZED_KEYS = "etc/ssh/authorized_keys.d/piclient"
SSH_FLAG = "run/piclient/ssh-enabled"
WPA_CONF = "etc/wpa_supplicant/wpa_supplicant-wlan0.conf"


def system_files(system: SystemConfig) -> dict[str, File]:
    """Paths relative to the root, with what to write there."""
    files = {
        "etc/hostname": File(f"{system.hostname}\n"),
        "etc/hosts": File(f"127.0.0.1\tlocalhost\n127.0.1.1\t{system.hostname}\n"
                          "::1\t\tlocalhost ip6-localhost ip6-loopback\n"),
        "etc/default/locale": File(f"LANG={system.locale}\n"),
        "etc/timezone": File(f"{system.timezone}\n"),
        "etc/localtime": File("", link=f"/usr/share/zoneinfo/{system.timezone}"),
        WPA_CONF: File(wpa_supplicant_conf(system), 0o600),
    }
    if system.ssh_authorized_keys:
        files[AUTHORIZED_KEYS] = File("".join(f"{key}\n" for key in system.ssh_authorized_keys))
        files[SSH_FLAG] = File("")
    return files


def wpa_supplicant_conf(system: SystemConfig) -> str:
    wifi = system.wifi
    lines = ["# Written at every boot from piclient.yaml on the boot partition; edit that file instead.",
             "ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev", "update_config=0"]
    if wifi.country:
        lines.append(f"country={wifi.country}")
    if wifi.ssid:
        # Hex for the name and a derived key for the password: no quoting to get wrong, whatever they hold.
        lines += ["network={", f"\tssid={wifi.ssid.encode('utf-8').hex()}"]
        if wifi.hidden:
            lines.append("\tscan_ssid=1")
        if not wifi.password:
            lines.append("\tkey_mgmt=NONE")
        else:
            lines += ["\tkey_mgmt=WPA-PSK", f"\tpsk={wpa_psk(wifi.ssid, wifi.password)}"]
        lines.append("}")
    return "\n".join(lines) + "\n"


def wpa_psk(ssid: str, password: str) -> str:
    """The 256-bit key WPA2 derives from a passphrase (IEEE 802.11i, what wpa_passphrase prints)."""
    if len(password) == 64:
        return password.lower()  # already the key, in hex
    return hashlib.pbkdf2_hmac("sha1", password.encode("ascii"), ssid.encode("utf-8"), 4096, 32).hex()
