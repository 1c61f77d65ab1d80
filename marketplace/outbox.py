"""The dry-run marketplace: every request is built and signed as for real, then written to an
outbox file (one per request) instead of being sent. Ids it hands back start with `dry-`.

It answers the same calls the publisher makes of `RaribleClient`, so the crash-safe
write-intent/act/reconcile path runs identically in dry-run: a request already in the outbox is
found by the lookup and never written twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from storage.types import utcnow

DRY_PREFIX = "dry-"


class OutboxMarket:
    mode = "dry-run"
    claim_ttl_s = 60.0  # a local file write; a minute is plenty

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir

    def _file(self, kind: str, key: str) -> Path:
        return self.outbox_dir / f"{kind}-{key}.json"

    def _write(self, path: Path, record: dict[str, Any]) -> None:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # the request is either wholly in the outbox or not at all

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def generate_token_id(self, collection: str, minter: str) -> int | None:
        return None  # nothing to ask in dry-run: the publisher makes the id locally

    def mint_lazy(self, body: dict[str, Any]) -> dict[str, Any]:
        item_id = f"{body['contract']}:{body['tokenId']}"
        record = {
            "id": DRY_PREFIX + item_id,
            "mode": self.mode,
            "request": {"method": "POST", "path": "/v0.1/nft/mints", "body": body},
            "written_at": utcnow().isoformat(),
        }
        self._write(self._file("mint", item_id.replace(":", "-")), record)
        return {**body, "id": record["id"], "lazySupply": "1"}

    def get_item(self, collection: str, token_id: int) -> dict[str, Any] | None:
        record = self._read(self._file("mint", f"{collection.lower()}-{token_id}"))
        if record is None:
            return None
        return {**record["request"]["body"], "id": record["id"], "lazySupply": "1"}

    get_lazy_item = get_item

    def upsert_order(self, form: dict[str, Any], *, order_hash: str) -> dict[str, Any]:
        record = {
            "id": DRY_PREFIX + order_hash,
            "mode": self.mode,
            "request": {"method": "POST", "path": "/v0.1/order/orders", "body": form},
            "written_at": utcnow().isoformat(),
        }
        self._write(self._file("order", order_hash), record)
        return {**form, "hash": record["id"], "status": "ACTIVE"}

    def get_order(self, order_hash: str) -> dict[str, Any] | None:
        record = self._read(self._file("order", order_hash.removeprefix(DRY_PREFIX)))
        if record is None:
            return None
        return {**record["request"]["body"], "hash": record["id"], "status": "ACTIVE"}

    def sell_orders_by_item(self, collection: str, token_id: int) -> Iterator[dict[str, Any]]:
        for path in sorted(self.outbox_dir.glob("order-*.json")):
            record = self._read(path) or {}
            asset = record.get("request", {}).get("body", {}).get("make", {}).get("assetType", {})
            if asset.get("contract") == collection.lower() and asset.get("tokenId") == str(
                token_id
            ):
                yield {**record["request"]["body"], "hash": record["id"], "status": "ACTIVE"}

    def bids_by_item(
        self, collection: str, token_id: int, statuses: tuple[str, ...]
    ) -> Iterator[dict[str, Any]]:
        return iter(())  # nothing was sent, so nobody can have bid

    def sale_activities(
        self, seller: str, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return [], cursor

    def item_sale_activities(
        self, collection: str, token_id: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return [], cursor

    def order_fees(self) -> dict[str, Any] | None:
        return None  # nothing is sold in dry-run, so no fee applies
