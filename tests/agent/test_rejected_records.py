"""A record the real server refuses with a 400 is dropped once, loudly, and the rest of the spool still goes."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from pathlib import Path

import pytest
import requests

from piclient.agent.spool import Spool
from piclient.agent.transport import Transport
from piclient.agent.uplink import IDLE_WAIT_S, Uplink
from tests.server.helpers import auth, heartbeat_body, running_server


def test_a_record_the_server_refuses_is_dropped_once_and_the_rest_still_goes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with running_server(tmp_path) as server:
        _, token = server.add_device()
        spool = Spool(tmp_path / "spool.db", 10 * 1024 * 1024, 86400)
        # A progress id the launcher's database once held as a lone surrogate: the server used to
        # answer 500 (retried forever); it is a 400 now.
        bad = '{"id": "bad", "items": [{"id": "\\ud800", "position": 1, "duration": 10, "updated_at": 1}]}'
        spool.put("bad", "progress", "POST", "/api/v1/progress", bad.encode())
        good = {"id": "good", "items": [{"id": "spring-day", "position": 754, "duration": 5400, "updated_at": 2}]}
        spool.put("good", "progress", "POST", "/api/v1/progress", json.dumps(good).encode())
        beat = heartbeat_body(uuid.uuid4().hex)
        spool.put(beat["id"], "heartbeat", "POST", "/api/v1/heartbeat", json.dumps(beat).encode())
        transport = Transport(server.url, token, backoff_max_s=1)
        uplink = Uplink(spool, transport, threading.Event())
        with caplog.at_level(logging.WARNING, logger="piclient.agent.uplink"):
            assert uplink.step() == IDLE_WAIT_S  # the spool is empty: nothing is left to retry
        assert spool.stats()["pending"] == 0 and (uplink.sent, uplink.rejected) == (2, 1)
        refusals = [r for r in caplog.records if "refused progress record bad" in r.getMessage()]
        assert len(refusals) == 1 and refusals[0].levelno == logging.ERROR
        assert "lone surrogate" in refusals[0].getMessage()
        held = requests.get(f"{server.url}/api/v1/progress", headers=auth(token), timeout=10).json()["items"]
        assert [(i["id"], i["position"]) for i in held] == [("spring-day", 754)]
        assert transport.status_line() == "server ok"
        spool.close()
        transport.close()
