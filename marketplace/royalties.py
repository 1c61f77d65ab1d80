"""The royalties Rarible's exchange accepts (stdlib only: settings import it at start).

ExchangeV2 (`RaribleTransferManager.transferRoyalties`) reverts every sale whose royalties total
more than 5000 bps ("Royalties are too high (>50%)"): an item minted above that can be listed
but never bought. The mint stage refuses more before signing, no sell order is made for such an
item, the settings refuse `BOT_ROYALTY_BPS` above it, and `bot doctor` flags minted ones.
"""

from __future__ import annotations

from typing import Any

MAX_ROYALTY_BPS = 5000


def royalty_total_bps(lazy_nft_json: dict[str, Any]) -> int:
    """The royalties a signed lazy mint carries, in basis points (all parts together, as the
    exchange adds them up)."""
    return sum(int(part.get("value", 0)) for part in lazy_nft_json.get("royalties") or [])
