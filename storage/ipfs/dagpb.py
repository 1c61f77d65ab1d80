"""dag-pb and UnixFS protobuf encoding, byte for byte as kubo writes it (docs/ipfs.md §4).

Canonical dag-pb puts every link (field 2) before the data (field 1); a link always carries a
name (empty for file chunks) and a Tsize. UnixFS `blocksizes` is repeated, not packed.
The decoder reads what the encoder writes (and what other importers write), for `cat` and for
walking a DAG when blocks are pushed to another node.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.ipfs.cid import Cid, read_varint, varint

UNIXFS_RAW = 0
UNIXFS_DIRECTORY = 1
UNIXFS_FILE = 2


class MalformedBlock(ValueError):
    pass


@dataclass(frozen=True)
class PbLink:
    cid: Cid
    name: str
    tsize: int


@dataclass(frozen=True)
class UnixFsData:
    type: int
    data: bytes
    filesize: int | None
    blocksizes: tuple[int, ...]


def _field(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + varint(len(payload)) + payload


def leaf_envelope(chunk_length: int) -> tuple[bytes, bytes]:
    """Bytes before and after a chunk in a dag-pb UnixFS file leaf.

    Returned as a pair so callers can hash `prefix + chunk + suffix` without copying the chunk.
    """
    if chunk_length == 0:
        unixfs_head, unixfs_tail = b"\x08\x02", b"\x18\x00"
    else:
        unixfs_head = b"\x08\x02\x12" + varint(chunk_length)
        unixfs_tail = b"\x18" + varint(chunk_length)
    unixfs_length = len(unixfs_head) + chunk_length + len(unixfs_tail)
    return b"\x0a" + varint(unixfs_length) + unixfs_head, unixfs_tail


def encode_link(link: PbLink) -> bytes:
    name = link.name.encode("utf-8")
    body = _field(0x0A, link.cid.to_bytes()) + _field(0x12, name) + b"\x18" + varint(link.tsize)
    return _field(0x12, body)


def file_node(links: list[PbLink], child_file_sizes: list[int]) -> bytes:
    """An internal UnixFS file node: links first, then Data{File, filesize, blocksizes}."""
    unixfs = b"\x08\x02\x18" + varint(sum(child_file_sizes))
    unixfs += b"".join(b"\x20" + varint(size) for size in child_file_sizes)
    return b"".join(encode_link(link) for link in links) + _field(0x0A, unixfs)


def directory_node(links: list[PbLink]) -> bytes:
    ordered = sorted(links, key=lambda link: link.name.encode("utf-8"))
    return b"".join(encode_link(link) for link in ordered) + _field(0x0A, b"\x08\x01")


def _fields(block: bytes) -> list[tuple[int, int, bytes | int]]:
    """Split a protobuf message into (field number, wire type, value)."""
    out: list[tuple[int, int, bytes | int]] = []
    offset = 0
    while offset < len(block):
        key, offset = read_varint(block, offset)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, offset = read_varint(block, offset)
            out.append((number, wire, value))
        elif wire == 2:
            length, offset = read_varint(block, offset)
            if offset + length > len(block):
                raise MalformedBlock("field runs past the end of the block")
            out.append((number, wire, bytes(block[offset : offset + length])))
            offset += length
        else:
            raise MalformedBlock(f"unsupported protobuf wire type {wire}")
    return out


def decode_node(block: bytes) -> tuple[list[PbLink], bytes | None]:
    """Decode a dag-pb block into its links and its (UnixFS) data."""
    links: list[PbLink] = []
    data: bytes | None = None
    try:
        for number, _wire, value in _fields(block):
            if number == 2 and isinstance(value, bytes):
                cid: Cid | None = None
                name, tsize = "", 0
                for link_number, _w, link_value in _fields(value):
                    if link_number == 1 and isinstance(link_value, bytes):
                        cid = Cid.from_bytes(link_value)
                    elif link_number == 2 and isinstance(link_value, bytes):
                        name = link_value.decode("utf-8")
                    elif link_number == 3 and isinstance(link_value, int):
                        tsize = link_value
                if cid is None:
                    raise MalformedBlock("dag-pb link without a hash")
                links.append(PbLink(cid, name, tsize))
            elif number == 1 and isinstance(value, bytes):
                data = value
    except ValueError as exc:
        raise MalformedBlock(f"not a dag-pb block: {exc}") from None
    return links, data


def decode_unixfs(data: bytes) -> UnixFsData:
    kind, payload, filesize = -1, b"", None
    blocksizes: list[int] = []
    try:
        for number, _wire, value in _fields(data):
            if number == 1 and isinstance(value, int):
                kind = value
            elif number == 2 and isinstance(value, bytes):
                payload = value
            elif number == 3 and isinstance(value, int):
                filesize = value
            elif number == 4 and isinstance(value, int):
                blocksizes.append(value)
    except ValueError as exc:
        raise MalformedBlock(f"not UnixFS data: {exc}") from None
    if kind < 0:
        raise MalformedBlock("UnixFS data without a type")
    return UnixFsData(kind, payload, filesize, tuple(blocksizes))
