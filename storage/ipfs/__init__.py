"""IPFS for the bot: CIDs computed locally, and pinners that are checked against them.

- `cid`, `dagpb`, `unixfs`: the `ipfs add` importer (CIDv0/CIDv1), stdlib only.
- `pinner`: the small interface every pinner implements, and its errors.
- `blockstore`: the embedded default (`local`), blocks kept under `<data_dir>/ipfs/`.
- `kubo`: a client of the kubo RPC API on `requests`.
- `pinning_service`: a client of the IPFS Pinning Service API.
- `push`: moves the local blockstore's pins to a real node or service (the pin backlog).
- `records`: the `pins` table rows.
"""
