"""The Ethereum signing stack (`eth_account`), imported in this one place.

`eth_account` imports `py_ecc`, which raises the interpreter's recursion limit to 100 000 at
import time. With that limit, deeply nested input to any recursive C code (the JSON parser
first of all) overflows the C stack and the process dies with a segfault instead of raising
RecursionError. We never need the deep recursion (secp256k1 signing does not use py_ecc's
pairing code), so the limit is put back right after the import. Every module that needs
`Account` or `encode_typed_data` imports them from here.
"""

from __future__ import annotations

import sys

_limit_before = sys.getrecursionlimit()
try:
    from eth_account import Account
    from eth_account.messages import encode_typed_data
finally:
    sys.setrecursionlimit(_limit_before)

__all__ = ["Account", "encode_typed_data"]
