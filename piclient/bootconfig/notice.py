"""`piclient boot-config notice`: after the launcher is up, put the config's mistakes on the TV.

The person reading it is the installer who just edited the card, often not a technical person: one
calm sentence in Korean, then each mistake with the name of the setting in words and its key.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from piclient.control.client import ControlClient, ControlUnavailable

log = logging.getLogger(__name__)

# Shown on the TV next to the key, so the installer knows which line to look for.
SETTING_NAMES = {
    "(file)": "파일 전체",
    "system.wifi.ssid": "와이파이 이름",
    "system.wifi.password": "와이파이 비밀번호",
    "system.wifi.country": "와이파이 국가 코드",
    "system.wifi": "와이파이",
    "system.hostname": "기기 이름",
    "system.timezone": "시간대",
    "system.locale": "언어 설정",
    "system.ssh_authorized_keys": "SSH 키",
    "server.url": "서버 주소",
    "server.token": "기기 토큰",
    "server": "서버",
    "device.name": "기기 이름",
}
HEADLINE = "SD 카드의 piclient.yaml 설정에 고칠 곳이 있어요. 컴퓨터에서 파일을 열어 고친 뒤 다시 켜 주세요."
MAX_CHARS = 500  # what the launcher's message box holds


def notice_text(problems: list[str]) -> str:
    lines = [HEADLINE]
    for problem in problems:
        key, _, what = problem.partition(": ")
        name = SETTING_NAMES.get(key) or SETTING_NAMES.get(key.rsplit(".", 1)[0], "")
        lines.append(f"• {name} ({key}): {what}" if name else f"• {key}: {what}")
    text = "\n".join(lines)
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 1] + "…"
    return text


def send_notice(run_dir: Path, socket_path: Path, timeout_s: float = 10.0) -> bool:
    """True when there was something to show and the launcher took it."""
    try:
        problems = json.loads((run_dir / "config-problems.json").read_text(encoding="utf-8"))["problems"]
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError) as exc:
        log.error("config-problems.json cannot be read: %s", exc)
        return False
    if not problems:
        return False
    try:
        # A day on screen: the installer reads it now; OK or Back closes it.
        reply = ControlClient(socket_path, timeout=timeout_s).request("message", text=notice_text(problems),
                                                                      seconds=24 * 3600)
    except ControlUnavailable as exc:
        log.error("the launcher did not take the config notice: %s", exc)
        return False
    return bool(reply.get("ok"))
