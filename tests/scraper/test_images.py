"""Image download: the happy paths, dedupe by content, and hostile servers refused by reason."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper.errors import DownloadRefused
from scraper.images import DownloadPolicy, ImageDownloader
from storage.blobstore import BlobStore
from tests.scraper.image_server import (
    ImageServer,
    claims_length,
    endless,
    png_bomb,
    png_bytes,
    redirect,
    serve,
)

CAP_BYTES = 200_000
CAP_PIXELS = 1_000_000
CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


@pytest.fixture
def images() -> Iterator[ImageServer]:
    with ImageServer() as server:
        yield server


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def _downloader(blobs: BlobStore, *gateways: str, allow_private: bool = True) -> ImageDownloader:
    policy = DownloadPolicy(
        gateways=gateways or ("http://127.0.0.1:9/ipfs/",),
        max_bytes=CAP_BYTES,
        max_pixels=CAP_PIXELS,
        allow_private=allow_private,
        timeout_s=5.0,
        user_agent="nftbot-tests",
    )
    return ImageDownloader(policy, blobs)


def _refusal(downloader: ImageDownloader, uri: str) -> str:
    with pytest.raises(DownloadRefused) as caught:
        downloader.fetch(uri)
    return caught.value.reason


def test_https_image_is_stored_once_by_content_hash(images, blobs) -> None:
    picture = png_bytes(40, 30)
    images.routes["/a.png"] = serve(picture)
    images.routes["/same-again.png"] = serve(picture, "image/png; charset=binary")
    downloader = _downloader(blobs)
    first = downloader.fetch(images.url + "/a.png")
    second = downloader.fetch(images.url + "/same-again.png")
    assert first.sha256 == second.sha256
    assert (first.format, first.width, first.height, first.size) == ("PNG", 40, 30, len(picture))
    assert blobs.read_bytes(first.sha256) == picture
    assert len([p for p in blobs.root.rglob("*") if p.is_file()]) == 1


def test_ipfs_tries_gateways_in_order(images, blobs) -> None:
    picture = png_bytes(12, 12)
    images.routes[f"/down/ipfs/{CID}/art.png"] = serve(b"busy", "text/plain", 504)
    images.routes[f"/good/ipfs/{CID}/art.png"] = serve(picture, "application/octet-stream")
    downloader = _downloader(blobs, images.url + "/down/ipfs", images.url + "/good/ipfs/")
    fetched = downloader.fetch(f"ipfs://{CID}/art.png")
    assert fetched.url == f"{images.url}/good/ipfs/{CID}/art.png"
    assert images.hits == [f"/down/ipfs/{CID}/art.png", f"/good/ipfs/{CID}/art.png"]
    assert downloader.fetch(f"ipfs://ipfs/{CID}/art.png").sha256 == fetched.sha256


def test_ipfs_reports_every_gateway_when_all_fail(images, blobs) -> None:
    downloader = _downloader(blobs, images.url + "/a/ipfs/", images.url + "/b/ipfs/")
    reason = _refusal(downloader, f"ipfs://{CID}")
    assert "no gateway could serve it" in reason
    assert "/a/ipfs/: HTTP 404" in reason and "/b/ipfs/: HTTP 404" in reason


def test_data_uri_images(blobs) -> None:
    picture = png_bytes(5, 5)
    uri = "data:image/png;base64," + base64.b64encode(picture).decode()
    assert _downloader(blobs).fetch(uri).width == 5
    huge = "data:image/png;base64," + "A" * (CAP_BYTES * 2)
    assert "over the 200000-byte cap" in _refusal(_downloader(blobs), huge)
    assert "not valid base64" in _refusal(_downloader(blobs), "data:image/png;base64,@@@")


def test_a_1gb_claimed_body_is_refused_before_reading(images, blobs) -> None:
    images.routes["/huge.png"] = claims_length(1 << 30, png_bytes()[:64])
    reason = _refusal(_downloader(blobs), images.url + "/huge.png")
    assert reason.startswith("Content-Length 1073741824 bytes is over the 200000-byte cap")


def test_a_body_without_length_is_cut_at_the_cap(images, blobs) -> None:
    images.routes["/stream.png"] = endless(b"\x89PNG\r\n\x1a\n" + b"\0" * 65528, 5_000_000)
    reason = _refusal(_downloader(blobs), images.url + "/stream.png")
    assert "over the 200000-byte cap; stopped reading" in reason


def test_png_bombs_are_refused_by_their_header(images, blobs) -> None:
    images.routes["/bomb.png"] = serve(png_bomb(20_000, 20_000))  # 400 Mpx in ~50 KB
    images.routes["/small-bomb.png"] = serve(png_bomb(2_000, 2_000))  # 4 Mpx, over our cap
    downloader = _downloader(blobs)
    assert "decompression bomb" in _refusal(downloader, images.url + "/bomb.png")
    reason = _refusal(downloader, images.url + "/small-bomb.png")
    assert reason.startswith("2000x2000 = 4000000 pixels is over the 1000000-pixel cap")
    assert not blobs.root.exists() or not any(p.is_file() for p in blobs.root.rglob("*"))


def test_html_served_as_image_png_is_refused(images, blobs) -> None:
    images.routes["/fake.png"] = serve(b"<!doctype html><html><body>hi</body></html>")
    reason = _refusal(_downloader(blobs), images.url + "/fake.png")
    assert reason.startswith("content is not a PNG/JPEG/GIF/WebP image (starts with b'<!doctype")


def test_redirect_to_the_metadata_address_is_refused(images, blobs) -> None:
    images.routes["/r.png"] = redirect("http://169.254.169.254/latest/meta-data/iam/")
    reason = _refusal(_downloader(blobs), images.url + "/r.png")
    assert "169.254.169.254" in reason and "link-local" in reason
    assert images.hits == ["/r.png"]


def test_loopback_needs_the_setting(images, blobs) -> None:
    images.routes["/a.png"] = serve(png_bytes())
    reason = _refusal(_downloader(blobs, allow_private=False), images.url + "/a.png")
    assert "127.0.0.1 is a loopback address" in reason and "BOT_ALLOW_PRIVATE_ADDRESSES" in reason
    assert images.hits == []  # refused before connecting


def test_wrong_types_and_broken_images(images, blobs) -> None:
    picture = png_bytes()
    images.routes["/page"] = serve(b"<html></html>", "text/html")
    images.routes["/vector.svg"] = serve(b"<svg/>", "image/svg+xml")
    images.routes["/liar.jpg"] = serve(picture, "image/jpeg")
    images.routes["/cut.png"] = serve(picture[:60])
    downloader = _downloader(blobs)
    assert "'text/html' is not an accepted" in _refusal(downloader, images.url + "/page")
    assert "'image/svg+xml' is not an accepted" in _refusal(downloader, images.url + "/vector.svg")
    assert "declared 'image/jpeg' but the bytes are PNG" in _refusal(
        downloader, images.url + "/liar.jpg"
    )
    assert "corrupt PNG image" in _refusal(downloader, images.url + "/cut.png")
    assert "unsupported URI scheme 'file'" in _refusal(downloader, "file:///etc/passwd")
