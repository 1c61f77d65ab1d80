"""Rarible: wallet, EIP-712 signing, token ids, lazy mint, orders, bids and sales sync.

Nothing here imports `bot/`; settings values, sessions and HTTP clients are passed in.
Protocol reference: shared/docs/rarible.md (section numbers are quoted in the modules).
"""
