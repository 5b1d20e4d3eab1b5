"""The dashboard's words in English and Korean, and the choice between them.

The choice is the ``lang`` cookie (the toggle) or else the browser's Accept-Language.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "ko")
DEFAULT = "en"

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "piclient", "library": "Library", "new_not_started": "{n} new films not started",
        "devices": "Devices", "login": "Log in", "logout": "Log out",
        "logout_everywhere": "Log out everywhere",
        "password": "Password", "login_failed": "Wrong password.",
        "login_limited": "Too many attempts. Try again in {seconds} seconds.",
        "no_password": "No password is set yet. On the server run: piclient server set-password --data DIR",
        "login_expired": "The form expired. Please try again.",
        "online": "Online", "offline": "Offline", "never_seen": "Never seen", "revoked": "Token revoked",
        "online_since": "for {dur}", "offline_since": "for {dur}",
        "last_heartbeat": "last heartbeat {ago}", "ago": "{n} ago", "just_now": "just now",
        "s": "{n} s", "min": "{n} min", "h": "{n} h", "d": "{n} d",
        "no_devices": "No devices yet. Add one with: piclient server add-device NAME --data DIR",
        "no_screenshot": "No screenshot yet", "now_playing": "Now playing", "paused": "paused",
        "screen": "Screen", "nothing_playing": "Nothing playing", "version": "Version", "uptime": "Box up",
        "tv_uptime": "TV app up",
        "np_playing": "playing", "np_paused": "paused", "np_buffering": "buffering", "np_starting": "starting",
        "np_countdown": "next episode soon", "np_done": "finished", "np_episode": "S{season} E{episode}",
        "np_subtitles": "Subtitles", "np_no_subtitles": "no subtitles", "np_sub_delay": "subtitle delay",
        "np_playing_for": "started {dur} ago", "np_unreadable": "The box sent what it plays in a form this "
        "server cannot read (a newer box?)",
        "warnings": "Warnings", "remote": "Remote", "message": "Message to the TV", "send": "Send",
        "screenshot_now": "Screenshot now", "reload": "Reload catalog", "restart_tv": "Restart TV app",
        "reboot": "Reboot", "fetch_logs": "Fetch logs", "confirm_reboot": "Reboot the box now?",
        "confirm_restart": "Restart the TV app now?", "health": "Health (24 h)", "temperature": "CPU temperature",
        "wifi": "Wi-Fi signal", "memory": "Memory used", "logs": "Recent logs", "no_logs": "No logs uploaded yet.",
        "commands": "Recent commands", "no_commands": "No commands yet.", "alerts": "Alerts",
        "live": "Live: the box checks for commands every second while this page is open.",
        "cmd_pending": "waiting", "cmd_delivered": "delivered", "cmd_done": "done", "cmd_failed": "failed",
        "cmd_expired": "expired", "sent": "Sent", "send_failed": "Could not send: {error}",
        "w_under_voltage_now": "Under-voltage now: check the power supply",
        "w_under_voltage": "Under-voltage happened since boot",
        "w_throttled": "CPU throttled", "w_hot": "CPU hot: {temp} °C",
        "w_tv_unresponsive": "TV app not responding", "w_tv_crashed": "TV app crashed",
        "w_tv_stopped": "TV app stopped", "w_refused": "The server refused this box's reports",
        "w_refused_token": "The server does not accept this box's token: give it a new one (add-device --new-token)",
        "w_disk": "Disk almost full ({pct}% free)",
        "w_memory": "Memory low ({pct}% free)", "w_wifi": "Weak Wi-Fi ({dbm} dBm)",
        "w_dropped": "{n} records were lost while offline",
        "w_box_disk_full": "The box's disk is full: it cannot keep its records",
        "w_spool_error": "The box cannot keep its records",
        "w_errors": "The TV app noted {n} problem(s) in the last {minutes} min",
        "w_catalog_network": "Films list not refreshed: the server could not be reached",
        "w_catalog_server": "Films list not refreshed: the server answered with an error",
        "w_catalog_setup": "Films list not refreshed: the box's settings need a look",
        "w_catalog_broken": "Films list not refreshed: the list it got cannot be used",
        "w_catalog_missing": "Films list not refreshed: the list file is missing",
        "w_catalog_other": "Films list not refreshed",
        "w_clock": "Box clock is off by {ago}",
        "w_clock_ahead": "Box clock is {ago} ahead: the server orders its records by when they arrive",
        "w_going_down": "Shut down cleanly",
        "w_revoked_used": "A revoked token was used {ago}",
        "w_unknown_tokens": "{n} requests with an unknown device token in the last hour (last from {ip}).",
        "w_cec": "HDMI-CEC adapter: {state}", "w_cec_unavailable": "HDMI-CEC adapter not found (the keyboard works)",
        "w_cec_opening": "HDMI-CEC adapter is being opened", "w_tv_standby": "TV is in standby",
        "w_not_active": "Another input is shown on the TV",
        "language": "한국어", "back": "All devices", "key_ok": "OK", "key_back": "Back",
        "key_playpause": "Play/Pause", "key_up": "Up", "key_down": "Down", "key_left": "Left", "key_right": "Right",
        "key_red": "Red", "key_green": "Green", "key_yellow": "Yellow", "key_blue": "Blue", "key_info": "Info",
        "key_stop": "Stop", "key_rw": "Rewind", "key_ff": "Fast forward", "taken": "taken {ago}",
        "no_data": "no data yet", "details": "details",
        "screen_home": "Home (posters)", "screen_title": "A title's page", "screen_player": "Playing",
        "screen_empty": "No films yet", "screen_none": "–",
        "cmd_key": "Key: {button}", "cmd_message": "Message: “{text}”", "cmd_screenshot": "Screenshot",
        "cmd_reload": "Refresh films list", "cmd_restart_tv": "Restart TV app", "cmd_reboot": "Reboot",
        "cmd_upload_logs": "Fetch logs", "cmd_other": "Command “{type}”",
        "res_logs": "{kb} KB of logs", "res_tv_back": "the TV app is back",
        "res_titles": "{n} titles", "res_rebooting": "rebooting",
        "not_in_demo": "Not in the demo: this button works on a real box.",
        "unreadable": "Unreadable",
        "unreadable_text": "This box sent something the dashboard cannot show; its next good heartbeat replaces it.",
    },
    "ko": {
        "title": "piclient", "library": "라이브러리", "new_not_started": "아직 안 본 새 작품 {n}편",
        "devices": "기기", "login": "로그인", "logout": "로그아웃",
        "logout_everywhere": "모든 기기에서 로그아웃",
        "password": "비밀번호", "login_failed": "비밀번호가 틀렸습니다.",
        "login_limited": "시도가 너무 많습니다. {seconds}초 후에 다시 시도하세요.",
        "no_password": "아직 비밀번호가 없습니다. 서버에서 실행하세요: piclient server set-password --data DIR",
        "login_expired": "양식이 만료되었습니다. 다시 시도하세요.",
        "online": "온라인", "offline": "오프라인", "never_seen": "연결된 적 없음", "revoked": "토큰 취소됨",
        "online_since": "{dur}째", "offline_since": "{dur}째",
        "last_heartbeat": "마지막 신호 {ago}", "ago": "{n} 전", "just_now": "방금",
        "s": "{n}초", "min": "{n}분", "h": "{n}시간", "d": "{n}일",
        "no_devices": "기기가 없습니다. 추가하기: piclient server add-device 이름 --data DIR",
        "no_screenshot": "아직 화면 캡처가 없습니다", "now_playing": "재생 중", "paused": "일시정지",
        "screen": "화면", "nothing_playing": "재생 중인 것 없음", "version": "버전", "uptime": "기기 가동",
        "tv_uptime": "TV 앱 가동",
        "np_playing": "재생 중", "np_paused": "일시정지", "np_buffering": "불러오는 중", "np_starting": "시작하는 중",
        "np_countdown": "곧 다음 회", "np_done": "끝남", "np_episode": "시즌 {season} {episode}화",
        "np_subtitles": "자막", "np_no_subtitles": "자막 없음", "np_sub_delay": "자막 지연",
        "np_playing_for": "{dur} 전에 시작", "np_unreadable": "기기가 보낸 재생 정보를 이 서버가 읽을 수 없습니다 "
        "(더 새 버전의 기기?)",
        "warnings": "경고", "remote": "리모컨", "message": "TV에 메시지 보내기", "send": "보내기",
        "screenshot_now": "지금 화면 캡처", "reload": "목록 새로 고침", "restart_tv": "TV 앱 다시 시작",
        "reboot": "재부팅", "fetch_logs": "로그 가져오기", "confirm_reboot": "지금 기기를 재부팅할까요?",
        "confirm_restart": "지금 TV 앱을 다시 시작할까요?", "health": "상태 (24시간)", "temperature": "CPU 온도",
        "wifi": "Wi-Fi 신호", "memory": "메모리 사용", "logs": "최근 로그", "no_logs": "아직 올라온 로그가 없습니다.",
        "commands": "최근 명령", "no_commands": "아직 명령이 없습니다.", "alerts": "알림",
        "live": "실시간: 이 페이지가 열려 있는 동안 기기가 매초 명령을 확인합니다.",
        "cmd_pending": "대기", "cmd_delivered": "전달됨", "cmd_done": "완료", "cmd_failed": "실패",
        "cmd_expired": "만료", "sent": "보냄", "send_failed": "보내지 못했습니다: {error}",
        "w_under_voltage_now": "지금 전압 부족: 전원 어댑터를 확인하세요",
        "w_under_voltage": "부팅 후 전압 부족이 있었습니다",
        "w_throttled": "CPU 속도 제한됨", "w_hot": "CPU 과열: {temp} °C",
        "w_tv_unresponsive": "TV 앱 응답 없음", "w_tv_crashed": "TV 앱 중단됨",
        "w_tv_stopped": "TV 앱 멈춤", "w_refused": "서버가 이 기기의 보고를 거부했습니다",
        "w_refused_token": "서버가 이 기기의 토큰을 받지 않습니다: 새 토큰을 주세요 (add-device --new-token)",
        "w_disk": "디스크 거의 가득 참 ({pct}% 남음)",
        "w_memory": "메모리 부족 ({pct}% 남음)", "w_wifi": "Wi-Fi 약함 ({dbm} dBm)",
        "w_dropped": "오프라인 동안 기록 {n}개를 잃었습니다",
        "w_box_disk_full": "기기의 디스크가 가득 찼습니다: 기록을 저장할 수 없습니다",
        "w_spool_error": "기기가 기록을 저장할 수 없습니다",
        "w_errors": "TV 앱이 최근 {minutes}분 동안 문제 {n}건을 기록했습니다",
        "w_catalog_network": "작품 목록을 새로 받지 못함: 서버에 연결할 수 없습니다",
        "w_catalog_server": "작품 목록을 새로 받지 못함: 서버가 오류로 응답했습니다",
        "w_catalog_setup": "작품 목록을 새로 받지 못함: 기기 설정을 확인하세요",
        "w_catalog_broken": "작품 목록을 새로 받지 못함: 받은 목록을 쓸 수 없습니다",
        "w_catalog_missing": "작품 목록을 새로 받지 못함: 목록 파일이 없습니다",
        "w_catalog_other": "작품 목록을 새로 받지 못함",
        "w_clock": "기기 시계가 {ago} 어긋났습니다",
        "w_clock_ahead": "기기 시계가 {ago} 앞서 있습니다: 서버는 도착한 순서로 기록을 정리합니다",
        "w_going_down": "정상 종료됨",
        "w_revoked_used": "취소된 토큰이 {ago} 사용되었습니다",
        "w_unknown_tokens": "지난 한 시간 동안 알 수 없는 기기 토큰 요청 {n}건 (마지막: {ip}).",
        "w_cec": "HDMI-CEC 어댑터: {state}", "w_cec_unavailable": "HDMI-CEC 어댑터를 찾을 수 없어요 (키보드는 작동)",
        "w_cec_opening": "HDMI-CEC 어댑터를 여는 중", "w_tv_standby": "TV 대기 모드",
        "w_not_active": "TV에 다른 입력이 표시되고 있습니다",
        "language": "English", "back": "모든 기기", "key_ok": "확인", "key_back": "뒤로",
        "key_playpause": "재생/일시정지", "key_up": "위", "key_down": "아래", "key_left": "왼쪽",
        "key_right": "오른쪽", "key_red": "빨강", "key_green": "초록", "key_yellow": "노랑", "key_blue": "파랑",
        "key_info": "정보", "key_stop": "정지", "key_rw": "되감기", "key_ff": "빨리 감기", "taken": "{ago} 캡처",
        "no_data": "아직 데이터 없음", "details": "자세히",
        "screen_home": "첫 화면 (포스터)", "screen_title": "작품 페이지", "screen_player": "재생 화면",
        "screen_empty": "아직 작품 없음", "screen_none": "–",
        "cmd_key": "리모컨: {button}", "cmd_message": "메시지: “{text}”", "cmd_screenshot": "화면 캡처",
        "cmd_reload": "목록 새로 고침", "cmd_restart_tv": "TV 앱 다시 시작", "cmd_reboot": "재부팅",
        "cmd_upload_logs": "로그 가져오기", "cmd_other": "명령 “{type}”",
        "res_logs": "로그 {kb} KB", "res_tv_back": "TV 앱이 다시 켜졌습니다",
        "res_titles": "작품 {n}개", "res_rebooting": "재부팅 중",
        "not_in_demo": "데모에서는 쓸 수 없습니다: 실제 기기에서 작동합니다.",
        "unreadable": "읽을 수 없음",
        "unreadable_text": "이 기기가 보낸 내용을 대시보드에 표시할 수 없습니다. 다음 정상 신호가 오면 바뀝니다.",
    },
}


def choose(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    best, best_q = DEFAULT, -1.0
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


def translator(lang: str) -> Callable[..., str]:
    table = TEXT.get(lang, TEXT[DEFAULT])

    def t(key: str, **params: object) -> str:
        text = table.get(key) or TEXT[DEFAULT].get(key) or key
        return text.format(**params) if params else text

    return t


def duration(t: Callable[..., str], seconds: float) -> str:
    """"4 min", with a no-break space: a number is never left at the end of a line without its unit."""
    return _duration(t, seconds).replace(" ", "\u00a0")


def _duration(t: Callable[..., str], seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return t("s", n=seconds)
    if seconds < 90 * 60:
        return t("min", n=round(seconds / 60))
    if seconds < 36 * 3600:
        return t("h", n=round(seconds / 3600))
    return t("d", n=round(seconds / 86400))


def ago(t: Callable[..., str], seconds: float) -> str:
    return t("just_now") if seconds < 5 else t("ago", n=duration(t, seconds))
