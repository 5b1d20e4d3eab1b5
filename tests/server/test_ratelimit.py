from __future__ import annotations

from piclient.server.ratelimit import LoginLimiter


def test_an_address_waits_after_five_failures_until_the_window_passes() -> None:
    limiter = LoginLimiter(per_ip=5, overall=100, window_s=300)
    for second in range(5):
        assert limiter.retry_after("1.2.3.4", now=1000 + second) == 0
        limiter.failed("1.2.3.4", now=1000 + second)
    assert limiter.retry_after("1.2.3.4", now=1010) == 290
    assert limiter.retry_after("5.6.7.8", now=1010) == 0
    assert limiter.retry_after("1.2.3.4", now=1301) == 0


def test_failures_from_many_addresses_trip_the_overall_limit() -> None:
    limiter = LoginLimiter(per_ip=5, overall=30, window_s=300)
    for n in range(30):
        limiter.failed(f"10.0.0.{n}", now=1000)
    assert limiter.retry_after("192.0.2.1", now=1001) > 0


def test_a_success_clears_only_its_own_address() -> None:
    limiter = LoginLimiter(per_ip=2, overall=100, window_s=300)
    for ip in ("a", "a", "b", "b"):
        limiter.failed(ip, now=1000)
    limiter.succeeded("a")
    assert limiter.retry_after("a", now=1001) == 0
    assert limiter.retry_after("b", now=1001) > 0


def test_memory_stays_bounded_under_a_flood_of_addresses() -> None:
    limiter = LoginLimiter(per_ip=5, overall=10**9, window_s=300, max_ips=100)
    for n in range(1000):
        limiter.failed(f"ip{n}", now=1000 + n)
    assert len(limiter._by_ip) <= 100
