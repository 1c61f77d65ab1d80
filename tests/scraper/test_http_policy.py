"""The shared HTTP policy: token bucket, backoff, Retry-After, and the rate limit as the
server sees it when several collections are scraped at once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from scraper.http import HttpClient, HttpPolicy, TokenBucket, backoff_delay, parse_retry_after
from scraper.rarible import RaribleCollectionSource
from scraper.runner import run_sources
from tests.scraper.fake_marketplace import API_KEY, rarible_item


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_allows_burst_then_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, burst=2, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(6):
        bucket.acquire()
        times.append(clock.now - 100.0)
    assert times == pytest.approx([0.0, 0.0, 0.25, 0.5, 0.75, 1.0])


def test_token_bucket_pause_blocks_until_the_deadline() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock=clock, sleep=clock.sleep)
    bucket.pause_until(clock.now + 3.0)
    bucket.acquire()
    assert clock.now - 100.0 == pytest.approx(3.1)  # the pause, then one token's refill


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = HttpPolicy(backoff_base_s=1.0, backoff_cap_s=10.0, jitter=0.5)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        delays = [backoff_delay(attempt, policy, rng) for _ in range(50)]
        assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0 ") == 0.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(later) or 0) <= 31
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_a_retry_after_longer_than_the_cap_ends_the_run(server, market, engine) -> None:
    from scraper.runner import run_source
    from tests.scraper.fake_marketplace import Fault

    collection = "ETHEREUM:0x01"
    market.rarible_items[collection] = [rarible_item(collection, 1)]
    market.add_fault("/v0.1/items", Fault("429", retry_after="3600"))
    policy = HttpPolicy(rate_per_second=50, max_retry_after_s=5)
    with HttpClient(policy) as client:
        source = RaribleCollectionSource(
            client, collection, api_key=API_KEY, base_url=server.url + "/v0.1"
        )
        summary = run_source(engine, source)
    assert summary.status == "failed"
    assert "wait 3600s" in (summary.error or "") and "resumes" in (summary.error or "")


@pytest.mark.timeout(60)
def test_rate_limit_holds_across_parallel_collections(server, market, engine) -> None:
    rate, burst = 10.0, 1
    collections = [f"ETHEREUM:0x{n:040x}" for n in range(1, 4)]
    for collection in collections:
        market.rarible_items[collection] = [rarible_item(collection, n) for n in range(8)]
    policy = HttpPolicy(rate_per_second=rate, burst=burst, concurrency=4, user_agent="t")
    with HttpClient(policy) as client:
        sources = [
            RaribleCollectionSource(
                client, c, api_key=API_KEY, base_url=server.url + "/v0.1", page_size=2
            )
            for c in collections
        ]
        summaries = run_sources(engine, sources, parallel=3)
    assert [s.new for s in summaries] == [8, 8, 8]
    arrivals = sorted(r.at for r in market.requests)
    assert len(arrivals) == 12
    for window in (0.25, 0.5, 1.0):
        allowed = burst + rate * window
        for i, start in enumerate(arrivals):
            in_window = sum(1 for t in arrivals[i:] if t < start + window)
            assert in_window <= allowed, (window, in_window)


def test_an_exhausted_quota_pauses_the_host_until_reset(server, market, engine, client) -> None:
    from scraper.runner import run_source
    from tests.scraper.fake_marketplace import Fault

    collection = "ETHEREUM:0x02"
    market.rarible_items[collection] = [rarible_item(collection, n) for n in range(4)]
    market.add_fault("/v0.1/items", Fault("quota-exhausted"))
    source = RaribleCollectionSource(
        client, collection, api_key=API_KEY, base_url=server.url + "/v0.1", page_size=2
    )
    assert run_source(engine, source).new == 4
    first, second = market.requests[:2]
    assert first.status == second.status == 200
    assert second.at - first.at >= 0.95  # X-RateLimit-Reset: 1 was waited out, no 429 needed
