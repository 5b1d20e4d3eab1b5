"""Every sentence the viewer can see, in Korean and English. Calm, short, no technical words."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "row.continue": {"ko": "이어서 보기", "en": "Continue watching"},
    "row.new": {"ko": "새로 들어온 작품", "en": "New"},
    "row.films": {"ko": "영화", "en": "Films"},
    "row.series": {"ko": "시리즈", "en": "Series"},
    "badge.new": {"ko": "새 작품", "en": "NEW"},
    "badge.watched": {"ko": "다 봤어요", "en": "Watched"},
    "empty.title": {"ko": "영화를 준비하고 있어요", "en": "Your films are on their way"},
    "empty.body": {
        "ko": "곧 여기에 나타나요. 그대로 두시면 돼요.",
        "en": "They will appear here shortly. There is nothing you need to do.",
    },
    # Instead of "they will appear shortly" when waiting will not help: the box is refused or not set up.
    "empty.body.setup": {
        "ko": "가족이 이 기기의 설정을 확인해야 해요. 그대로 두시면 돼요.",
        "en": "The family needs to check this box's settings. There is nothing you need to do.",
    },
    # The home screen's footer while the catalog cannot be refreshed: one per ErrorKind
    # (piclient/catalog/cache.py). Each is true of its failure and tells whoever she phones where to
    # look, and none asks her to do anything; the details go to the log and the dashboard.
    # The films stream from the same server over the same line: with either away they cannot play,
    # so these two do not promise that what is shown still works.
    "sync.network": {
        "ko": "인터넷이 잠시 끊겼어요. 다시 연결되면 작품을 보실 수 있어요.",
        "en": "The internet is away for a moment. Films will play again once it is back.",
    },
    "sync.server": {
        "ko": "영화 서버에 문제가 생겼어요. 가족이 고칠 수 있어요.",
        "en": "The film server has a problem that the family can fix.",
    },
    "sync.setup": {
        "ko": "이 기기의 설정을 가족이 확인해야 해요. 여기 있는 작품은 그대로 보실 수 있어요.",
        "en": "The family needs to check this box's settings. Everything shown here still works.",
    },
    "sync.broken": {
        "ko": "새 작품 목록을 읽지 못했어요. 여기 있는 작품은 그대로 보실 수 있어요.",
        "en": "The new list of films could not be read. Everything shown here still works.",
    },
    "sync.missing": {
        "ko": "지금은 작품 목록을 찾을 수 없어요. 여기 있는 작품은 그대로 보실 수 있어요.",
        "en": "The list of films cannot be found right now. Everything shown here still works.",
    },
    "sync.other": {
        "ko": "지금은 새 작품을 가져올 수 없어요. 여기 있는 작품은 그대로 보실 수 있어요.",
        "en": "New films cannot be fetched right now. Everything shown here still works.",
    },
    "action.play": {"ko": "재생", "en": "Play"},
    "action.resume": {"ko": "이어서 보기 ({time}부터)", "en": "Resume from {time}"},
    "action.start_over": {"ko": "처음부터 보기", "en": "Start over"},
    "action.play_episode": {"ko": "{n}화 보기", "en": "Play episode {n}"},
    "action.resume_episode": {"ko": "{n}화 이어서 보기", "en": "Resume episode {n}"},
    "episode": {"ko": "{n}화", "en": "Episode {n}"},
    "season": {"ko": "시즌 {n}", "en": "Season {n}"},
    "episodes": {"ko": "{n}편", "en": "{n} episodes"},
    "minutes": {"ko": "{m}분", "en": "{m} min"},
    "hours_minutes": {"ko": "{h}시간 {m}분", "en": "{h} h {m} min"},
    "play.unavailable": {
        "ko": "지금은 이 작품을 틀 수 없어요. 다른 작품을 골라 보세요.",
        "en": "This one cannot play right now. Please choose another.",
    },
    # On a title's page when the box already knows films cannot play now, before she presses Play.
    "offline.network": {
        "ko": "지금은 인터넷이 끊겨서 작품을 볼 수 없어요. 다시 연결되면 볼 수 있어요.",
        "en": "The internet is away, so films cannot play right now. They will once it is back.",
    },
    "offline.server": {
        "ko": "지금은 영화 서버에 문제가 있어서 작품을 볼 수 없어요. 가족이 고칠 수 있어요.",
        "en": "The film server has a problem, so films cannot play right now. The family can fix it.",
    },
    "hint.ok_close": {"ko": "확인 버튼을 누르면 닫혀요", "en": "Press OK to close"},
}


class Strings:
    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, key: str, **values: object) -> str:
        entry = STRINGS[key]
        text = entry.get(self.language) or entry["en"]
        return text.format(**values) if values else text

    def duration(self, seconds: float) -> str:
        minutes = max(1, round(seconds / 60))
        if minutes < 60:
            return self("minutes", m=minutes)
        return self("hours_minutes", h=minutes // 60, m=minutes % 60)

    @staticmethod
    def clock(seconds: float) -> str:
        total = int(seconds)
        hours, rest = divmod(total, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"

STRINGS.update({
    "player.resuming": {"ko": "{time}부터 이어서 봐요", "en": "Resuming from {time}"},
    "player.paused": {"ko": "일시정지", "en": "Paused"},
    "player.buffering": {"ko": "잠시만 기다려 주세요…", "en": "Just a moment…"},
    "player.loading": {"ko": "곧 시작해요…", "en": "Starting…"},
    "player.next_in": {"ko": "{n}초 후에 다음 편이 시작돼요", "en": "Next episode in {n} seconds"},
    "player.next_hint": {"ko": "확인: 바로 보기   ·   뒤로: 그만 보기", "en": "OK: play now   ·   Back: stop"},
    "player.sub_delay": {"ko": "자막 시간 {value}초", "en": "Subtitle timing {value} s"},
    "player.subtitles": {"ko": "자막: {name}", "en": "Subtitles: {name}"},
    "player.subtitles_off": {"ko": "자막 끔", "en": "Subtitles off"},
    "player.audio": {"ko": "소리: {name}", "en": "Audio: {name}"},
    "player.failed": {
        "ko": "지금은 이 작품을 볼 수 없어요. 잠시 후에 다시 해 보시거나 다른 작품을 골라 주세요.",
        "en": "This one cannot play right now. Please try again later or choose another.",
    },
    # The colour keys' legend: shown by the first colour press; presses while it shows act.
    "legend.heading": {"ko": "색깔 버튼", "en": "Colour buttons"},
    "legend.red": {"ko": "자막 0.1초 빠르게", "en": "Subtitles 0.1 s earlier"},
    "legend.green": {"ko": "자막 0.1초 늦게", "en": "Subtitles 0.1 s later"},
    "legend.yellow": {"ko": "자막 언어 바꾸기 · 끄기", "en": "Other subtitles · off"},
    "legend.blue": {"ko": "자막 원래대로", "en": "Subtitles as before"},
    "player.subtitles_reset": {"ko": "자막을 원래대로 돌려놓았어요", "en": "Subtitles are back to normal"},
    # In the info bar while the subtitles are moved, so a delay set by a stray press is seen.
    "player.sub_delay_short": {"ko": "자막 {value}초", "en": "Subtitles {value} s"},
    "player.tv_back": {"ko": "멈춰 두었어요. 확인을 누르면 이어서 봐요", "en": "Paused. Press OK to carry on"},
})
