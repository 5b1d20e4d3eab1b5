"""What a box plays, on the device page, in the list and in the page's own call, from real heartbeats
(the server fixture runs each test on SQLite and on PostgreSQL)."""

from __future__ import annotations

import time

from tests.server.helpers import RunningServer, device_id, login, now_playing, send_heartbeat


def episode(**fields: object) -> dict:
    """An episode of a series, mid-way, as the launcher reports it."""
    started = time.time() - 12 * 60
    base = dict(title_id="spring", title="우리 동네", season=1, episode=2, episode_title={"ko": "봄이 와요"},
                phase="playing", started_at=started, position=754.0, duration=3016.0, buffering=True,
                variant={"track": 2, "height": 720, "bitrate": 2_500_000},
                subtitle={"track": 3, "lang": "ko", "title": "한국어"}, subtitle_tracks=2,
                sub_text="해가 떠요\n", sub_delay=0.3)
    return now_playing("spring-e2", **{**base, **fields})


def page_of(server: RunningServer, name: str, lang: str = "en") -> str:
    session, _ = login(server)
    reply = session.get(f"{server.url}/devices/{device_id(server, name)}", headers={"Accept-Language": lang},
                        timeout=10)
    assert reply.status_code == 200
    return reply.text.split('id="now-playing"', 1)[1].split("</section>", 1)[0]


def test_the_device_page_shows_everything_the_player_reports(server: RunningServer) -> None:
    name, token = server.add_device("Episode box")
    assert send_heartbeat(server, token, sent_at=time.time(),
                          tv={"state": "running", "screen": "player", "now_playing": episode()}).status_code == 200
    shown = page_of(server, name)
    assert "<strong><bdi>우리 동네</bdi></strong>" in shown
    assert '<span class="np-episode"><bdi>S1 E2 · 봄이 와요</bdi></span>' in shown
    assert '<span class="np-state np-state-buffering">buffering</span>' in shown
    assert '<progress class="np-bar" max="100" value="25.0">' in shown
    assert '<span class="np-position">12:34</span> / <span class="np-duration">50:16</span>' in shown
    assert '<span class="np-rendition">720p · 2.5 Mbit/s</span>' in shown
    assert '<span class="np-subtitle">Subtitles: <bdi>한국어</bdi></span>' in shown
    assert '<bdi class="np-sub-text">해가 떠요</bdi>' in shown
    assert '<span class="np-sub-delay">subtitle delay +0.3 s</span>' in shown
    assert '<span class="np-since">started 12\u00a0min ago</span>' in shown  # a no-break space: one line


def test_in_korean_the_episode_and_state_read_naturally(server: RunningServer) -> None:
    name, token = server.add_device("Korean box")
    send_heartbeat(server, token, tv={"state": "running", "now_playing": episode(buffering=False, paused=True)})
    shown = page_of(server, name, "ko")
    assert "시즌 1 2화 · 봄이 와요" in shown and ">일시정지<" in shown and "자막: <bdi>한국어</bdi>" in shown


def test_no_subtitle_delay_is_left_out_and_no_subtitle_track_is_said(server: RunningServer) -> None:
    name, token = server.add_device("Plain film box")
    film = now_playing("sunrise", "해돋이", position=5.0, duration=12.0, sub_delay=0.0, sub_text="")
    send_heartbeat(server, token, tv={"state": "running", "now_playing": film})
    shown = page_of(server, name)
    assert "<strong><bdi>해돋이</bdi></strong>" in shown and "np-episode" not in shown
    assert '<span class="np-subtitle">no subtitles</span>' in shown
    assert "np-sub-delay" not in shown and "np-sub-text" not in shown
    assert '<span class="np-state np-state-starting">starting</span>' in shown


def test_a_now_playing_the_server_cannot_read_is_said_not_shown_as_nothing_playing(server: RunningServer) -> None:
    name, token = server.add_device("Garbled box")
    reply = send_heartbeat(server, token, tv={"state": "running", "now_playing": {"id": "x", "position": "soon"}})
    assert reply.status_code == 200  # stored as sent: a newer box may know better than this server
    shown = page_of(server, name)
    assert "cannot read" in shown and "Nothing playing" not in shown
    session, _ = login(server)
    listed = session.get(f"{server.url}/api/dash/devices", timeout=10).json()["devices"]
    mine = next(d for d in listed if d["name"] == name)
    assert mine["np"]["unreadable"] is True and "cannot read" in mine["now_playing_html"]


def test_nothing_playing_is_said_when_the_tv_shows_its_menus(server: RunningServer) -> None:
    name, token = server.add_device("Idle box")
    send_heartbeat(server, token)
    assert "Nothing playing" in page_of(server, name)


def test_the_pages_json_carries_the_partial_the_script_swaps_in(server: RunningServer) -> None:
    name, token = server.add_device("Polled box")
    send_heartbeat(server, token, tv={"state": "running", "now_playing": episode()})
    session, _ = login(server)
    device = session.get(f"{server.url}/api/dash/devices/{device_id(server, name)}", timeout=10).json()["device"]
    assert device["np"]["title"] == "우리 동네" and device["np"]["sub_text"] == "해가 떠요"
    assert '<bdi class="np-sub-text">해가 떠요</bdi>' in device["now_playing_html"]
