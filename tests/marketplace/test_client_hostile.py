"""The Rarible client against hostile answers: deep JSON, bombs, drips, key-stealing
redirects. Each is one clear error, bounded in time and memory; the key stays home."""

from __future__ import annotations

import pytest

from marketplace.client import (
    AmbiguousSubmission,
    RaribleClient,
    RaribleError,
    RaribleUnavailable,
    RetryPolicy,
)
from tests.scraper.image_server import ImageServer, redirect, serve
from tests.storage.test_net import BRACKETS, _HeaderLog, drip, gzip_bomb, serve_gzip

ITEM = "/v0.1/nft/items/0xc9154424b823b10579895ccbe442d41b9abd96ed:1"


def _client(base: str, **kwargs: object) -> RaribleClient:
    return RaribleClient(
        indexer_url=base,
        union_url=base,
        api_key="secret-key",
        mode="testnet",
        timeout_s=0.5,
        retry=RetryPolicy(first_delay_s=0.01, max_delay_s=0.05, give_up_after_s=2.0),
        sleep=lambda _s: None,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def api():  # type: ignore[no-untyped-def]
    with ImageServer() as server:
        yield server


def test_deep_json_is_a_clear_error(api: ImageServer) -> None:
    api.routes[ITEM] = serve(BRACKETS, "application/json")
    with pytest.raises(RaribleError, match=r"GET /v0.1/nft/items/.*nested 400000 levels deep"):
        _client(api.url).get_item("0xc9154424b823b10579895ccbe442d41b9abd96ed", 1)


def test_a_gzip_bomb_is_refused(api: ImageServer) -> None:
    api.routes[ITEM] = serve_gzip(gzip_bomb(20_000_000))
    client = _client(api.url, max_body_bytes=1_000_000)
    with pytest.raises(RaribleError, match="refused: body is over the 1000000-byte cap"):
        client.get_item("0xc9154424b823b10579895ccbe442d41b9abd96ed", 1)


def test_a_dripping_server_gives_up_in_bounded_time(api: ImageServer) -> None:
    api.routes[ITEM] = drip(0.1)
    with pytest.raises(RaribleUnavailable, match="DeadlineExceeded"):
        _client(api.url).get_item("0xc9154424b823b10579895ccbe442d41b9abd96ed", 1)


def test_a_write_whose_answer_drips_is_ambiguous_not_retried(api: ImageServer) -> None:
    api.routes["/v0.1/nft/mints"] = drip(0.1)
    with pytest.raises(AmbiguousSubmission, match="DeadlineExceeded while sending"):
        _client(api.url).mint_lazy({"contract": "0x1", "tokenId": "1"})
    assert api.hits.count("/v0.1/nft/mints") == 1


def test_the_api_key_never_follows_a_redirect_elsewhere(api: ImageServer) -> None:
    log = _HeaderLog()
    with ImageServer() as elsewhere:
        elsewhere.routes[ITEM] = log.route(b'{"id": "x"}')
        api.routes[ITEM] = redirect(elsewhere.url + ITEM)
        found = _client(api.url).get_item("0xc9154424b823b10579895ccbe442d41b9abd96ed", 1)
    assert found == {"id": "x"}
    assert log.seen and all("x-api-key" not in headers for headers in log.seen)
    assert "secret-key" not in str(log.seen)


def test_a_redirect_to_cloud_metadata_is_refused(api: ImageServer) -> None:
    api.routes[ITEM] = redirect("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(RaribleError, match="link-local"):
        _client(api.url).get_item("0xc9154424b823b10579895ccbe442d41b9abd96ed", 1)
