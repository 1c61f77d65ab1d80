"""The sale arithmetic against hand-worked ExchangeV2 figures (RaribleTransferManager)."""

from __future__ import annotations

from decimal import Decimal

from bot.reports.proceeds import Part, SellTerms, royalty_income, seller_proceeds

US = "0x" + "a1" * 20
OTHER = "0x" + "c0" * 20
FEE = "0x" + "fe" * 20


def test_v3_primary_sale_pays_protocol_and_origin_fees_and_keeps_our_own_royalty() -> None:
    terms = SellTerms(
        maker=US, protocol_fee_bps=200, origin_fees=(Part(FEE, 100),), royalties=(Part(US, 1000),)
    )
    got = seller_proceeds(Decimal("0.05"), 18, terms, {US})
    assert got.protocol_fee == Decimal("0.001")
    assert got.origin_fees_to_others == Decimal("0.0005")
    assert got.royalties_to_others == 0  # one royalty account == the one payout: not transferred
    assert got.to_us == Decimal("0.0485")


def test_royalties_to_others_are_paid_and_ours_stay_ours() -> None:
    terms = SellTerms(maker=US, protocol_fee_bps=250, royalties=(Part(US, 500), Part(OTHER, 500)))
    got = seller_proceeds(Decimal("1"), 18, terms, {US})
    assert (got.protocol_fee, got.royalties_to_others, got.to_us) == (
        Decimal("0.025"),
        Decimal("0.05"),
        Decimal("0.925"),
    )


def test_each_share_is_floored_in_wei_like_the_contract() -> None:
    # 333 wei: bp(333, 250) = 8 (8.325 floored), bp(333, 100) = 3 (3.33 floored)
    price = Decimal(333) / 10**18
    terms = SellTerms(maker=US, protocol_fee_bps=250, origin_fees=(Part(FEE, 100),))
    got = seller_proceeds(price, 18, terms, {US})
    assert got.protocol_fee * 10**18 == 8
    assert got.origin_fees_to_others * 10**18 == 3
    assert got.to_us * 10**18 == 322


def test_payouts_split_the_rest_and_the_last_gets_the_remainder() -> None:
    # rest 1000 wei: bp(1000, 3333) = 333 to OTHER, the last payout (us) gets 667
    price = Decimal(1000) / 10**18
    terms = SellTerms(maker=US, payouts=(Part(OTHER, 3333), Part(US, 6667)))
    got = seller_proceeds(price, 18, terms, {US})
    assert got.payouts_to_others * 10**18 == 333 and got.to_us * 10**18 == 667


def test_fees_never_take_more_than_is_left() -> None:
    terms = SellTerms(maker=US, protocol_fee_bps=6000, origin_fees=(Part(FEE, 6000),))
    got = seller_proceeds(Decimal("1"), 18, terms, {US})
    assert got.protocol_fee == Decimal("0.6") and got.origin_fees_to_others == Decimal("0.4")
    assert got.to_us == 0


def test_unknown_decimals_are_exact_without_flooring() -> None:
    terms = SellTerms(maker=US, protocol_fee_bps=250)
    got = seller_proceeds(Decimal("0.000000000000000333"), None, terms, {US})
    assert got.protocol_fee == Decimal("0.000000000000000008325")


def test_a_resale_pays_us_only_our_royalty_parts() -> None:
    royalties = (Part(US, 1000), Part(OTHER, 500))
    assert royalty_income(Decimal("1"), 18, royalties, {US}) == Decimal("0.1")
    assert royalty_income(Decimal("1"), 18, royalties, {FEE}) == 0


def test_parts_parse_union_and_plain_addresses() -> None:
    parts = Part.parse(
        [{"account": "ETHEREUM:0xABC", "value": 10}, {"account": "0xdef", "value": "5"}]
    )
    assert parts == (Part("0xabc", 10), Part("0xdef", 5))
