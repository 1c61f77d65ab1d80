"""Build the configured pinner from plain values (the bot passes its settings in)."""

from __future__ import annotations

from pathlib import Path

from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.kubo import KuboClient, KuboPinner
from storage.ipfs.pinner import Pinner
from storage.ipfs.pinning_service import PinningServiceClient, PinningServicePinner

PINNER_KINDS = ("local", "kubo", "pinning-service")


def make_pinner(
    kind: str,
    *,
    ipfs_dir: Path,
    api_url: str | None = None,
    service_url: str | None = None,
    service_token: str | None = None,
    provide_via_kubo: bool = False,
    timeout_s: float = 60.0,
) -> Pinner:
    """`local` (the blockstore under `ipfs_dir`), `kubo` (RPC at `api_url`) or `pinning-service`."""
    if kind == "local":
        return LocalBlockstore(ipfs_dir)
    if kind == "kubo":
        if not api_url:
            raise ValueError("pinner 'kubo' needs the kubo RPC URL (BOT_IPFS_API_URL)")
        return KuboPinner(KuboClient(api_url, timeout_s=timeout_s))
    if kind == "pinning-service":
        if not service_url or not service_token:
            raise ValueError(
                "pinner 'pinning-service' needs BOT_PINNING_SERVICE_URL and "
                "BOT_PINNING_SERVICE_TOKEN"
            )
        client = PinningServiceClient(service_url, service_token, timeout_s=timeout_s)
        provider = None
        if provide_via_kubo:
            if not api_url:
                raise ValueError("BOT_IPFS_PROVIDE_VIA_KUBO needs BOT_IPFS_API_URL")
            provider = KuboPinner(KuboClient(api_url, timeout_s=timeout_s))
        return PinningServicePinner(client, LocalBlockstore(ipfs_dir), provider=provider)
    raise ValueError(f"unknown pinner {kind!r}; expected one of {', '.join(PINNER_KINDS)}")
