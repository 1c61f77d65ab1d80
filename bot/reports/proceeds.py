"""What a sale pays us, computed the way Rarible's ExchangeV2 computes it
(RaribleTransferManager.doTransfersWithFees, protocol-contracts; rarible.md §6.4 and §7).

For a sale at price A (base units: wei for ETH and WETH), where bp(x, b) = floor(x * b / 10000)
and every deduction is capped at what is left (`subFeeInBp`):

1. protocol fee = bp(A, f), where f is the exchange's seller fee when the NFT side's order
   (ours, for a primary sale) has data V3, and 0 for V1/V2;
2. royalties: each part bp(A, r_i) to its account; skipped entirely when the item has exactly
   one royalty account and the sell order exactly one payout to the same account (the contract
   does not transfer to the seller what it would pay the seller anyway);
3. the sell order's origin fees: each bp(A, o_i) to its account;
4. the rest is split by the sell order's payouts (none: 100% to the maker): bp(rest, p_i) each,
   the last payout gets what is left.

Buyer-side fees (the buyer's protocol share, the buy order's origin fees) are added to what the
buyer pays and paid out of that addition, so they do not change what reaches the seller (up to
rounding of a few base units, which needs the buyer's order we do not have).

Our revenue from a sale is everything transferred to one of our addresses: on a primary sale,
the payouts to us and the royalties and origin fees that name us; on a resale by a later
owner, only the royalties that name us. When the currency's decimals are unknown the same
formula runs on exact decimals without the floor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

BPS = 10_000


@dataclass(frozen=True)
class Part:
    account: str
    bps: int

    @staticmethod
    def parse(items: Iterable[dict[str, object]]) -> tuple[Part, ...]:
        """Rarible's `[{"account": "0x…" | "ETHEREUM:0x…", "value": 1000}]`."""
        return tuple(
            Part(str(p["account"]).split(":")[-1].lower(), int(str(p["value"]))) for p in items
        )


@dataclass(frozen=True)
class SellTerms:
    """The seller's side of a match: the fee rate that applies to it and its order data."""

    maker: str
    protocol_fee_bps: int = 0
    origin_fees: tuple[Part, ...] = ()
    payouts: tuple[Part, ...] = ()
    royalties: tuple[Part, ...] = ()


@dataclass(frozen=True)
class Proceeds:
    gross: Decimal
    protocol_fee: Decimal
    royalties_to_others: Decimal
    origin_fees_to_others: Decimal
    payouts_to_others: Decimal
    to_us: Decimal


class _Units:
    """Amounts in base units (floor like the contract) or, without decimals, exact."""

    def __init__(self, decimals: int | None, amount: Decimal) -> None:
        self.scale = Decimal(10) ** decimals if decimals is not None else None
        if self.scale is not None and (amount * self.scale) != (amount * self.scale).to_integral():
            self.scale = None  # a price finer than the base unit: keep it exact instead

    def to_base(self, amount: Decimal) -> Decimal:
        return amount * self.scale if self.scale is not None else amount

    def bp(self, value: Decimal, bps: int) -> Decimal:
        share = value * bps / BPS
        return share.to_integral_value(rounding=ROUND_FLOOR) if self.scale is not None else share

    def from_base(self, value: Decimal) -> Decimal:
        return value / self.scale if self.scale is not None else value


def seller_proceeds(
    price: Decimal, decimals: int | None, terms: SellTerms, ours: set[str]
) -> Proceeds:
    """Where a sale's payment goes when `terms.maker` sells at `price` (one item)."""
    with localcontext() as exact:
        exact.prec = 120
        units = _Units(decimals, price)
        amount = units.to_base(price)
        rest = amount
        to_us = others_royalty = others_origin = others_payout = Decimal(0)

        def take(share: Decimal) -> Decimal:
            nonlocal rest
            paid = min(share, rest)
            rest -= paid
            return paid

        protocol = take(units.bp(amount, terms.protocol_fee_bps))
        payouts = terms.payouts or (Part(terms.maker.lower(), BPS),)
        single_self_royalty = (
            len(terms.royalties) == 1
            and len(payouts) == 1
            and terms.royalties[0].account == payouts[0].account
        )
        if not single_self_royalty:
            for part in terms.royalties:
                paid = take(units.bp(amount, part.bps))
                if part.account in ours:
                    to_us += paid
                else:
                    others_royalty += paid
        for part in terms.origin_fees:
            paid = take(units.bp(amount, part.bps))
            if part.account in ours:
                to_us += paid
            else:
                others_origin += paid
        left = rest
        for index, part in enumerate(payouts):
            last = index == len(payouts) - 1
            paid = left if last else units.bp(rest, part.bps)
            left -= paid
            if part.account in ours:
                to_us += paid
            else:
                others_payout += paid
        return Proceeds(
            gross=price,
            protocol_fee=units.from_base(protocol),
            royalties_to_others=units.from_base(others_royalty),
            origin_fees_to_others=units.from_base(others_origin),
            payouts_to_others=units.from_base(others_payout),
            to_us=units.from_base(to_us),
        )


def royalty_income(
    price: Decimal, decimals: int | None, royalties: tuple[Part, ...], ours: set[str]
) -> Decimal:
    """What a resale by someone else pays us: the royalty parts that name one of our
    addresses, each bp(A, r_i) of the price."""
    with localcontext() as exact:
        exact.prec = 120
        units = _Units(decimals, price)
        amount = units.to_base(price)
        income = sum(
            (units.bp(amount, part.bps) for part in royalties if part.account in ours), Decimal(0)
        )
        return units.from_base(income)
