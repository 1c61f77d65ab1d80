"""CID profiles: the import options that decide which CID a file gets.

The same bytes get different CIDs under different import options, so a CID can only be checked
by recomputing it with the options that made it. kubo ≥ 0.40 names its option sets (IPIP-499);
the bot uses these names for the ones it can make:

| profile          | CID | leaves | chunk   | links/node | kubo's name                          |
| ---------------- | --- | ------ | ------- | ---------- | ------------------------------------ |
| `legacy-v0`      | v0  | dag-pb | 256 KiB | 174        | `unixfs-v0-2015` (`legacy-cid-v0`)   |
| `legacy-v1`      | v1  | raw    | 256 KiB | 174        | none: `add --cid-version=1` defaults |
| `unixfs-v1-2025` | v1  | raw    | 1 MiB   | 1024       | `unixfs-v1-2025`                     |

All use sha2-256 and the balanced layout. `legacy-v1` and `unixfs-v1-2025` agree on files of at
most 256 KiB (one raw block) and differ for every larger file. Every pin records the name of the
profile that made its CID (`pins.profile`), so a node's or a gateway's answer is always compared
with a local CID made the same way, whatever the current setting is.
"""

from __future__ import annotations

from dataclasses import dataclass

LEGACY_CHUNK_SIZE = 262_144
LEGACY_MAX_LINKS = 174  # boxo: 8 KiB link block / ~47 bytes per link


@dataclass(frozen=True)
class CidProfile:
    """UnixFS import options (sha2-256, balanced layout, fixed-size chunks)."""

    name: str
    cid_version: int
    raw_leaves: bool
    chunk_size: int
    max_links: int

    def __post_init__(self) -> None:
        if self.cid_version not in (0, 1):
            raise ValueError(f"profile {self.name}: cid_version must be 0 or 1")
        if self.chunk_size < 1 or self.max_links < 2:
            raise ValueError(f"profile {self.name}: chunk size ≥ 1 and max links ≥ 2 needed")

    def kubo_add_options(self) -> list[tuple[str, str]]:
        """The `/api/v0/add` flags that make kubo build exactly this DAG.

        `max-file-links` is a flag of kubo's `add` (it overrides `Import.UnixFSFileMaxLinks`);
        a node that ignores it (an older kubo, js-ipfs) still builds the same DAG for files of
        at most `max_links` chunks, and for larger ones answers another CID, which the bot
        rejects (the node's CID is always compared with the local one).
        """
        return [
            ("cid-version", str(self.cid_version)),
            ("raw-leaves", "true" if self.raw_leaves else "false"),
            ("chunker", f"size-{self.chunk_size}"),
            ("max-file-links", str(self.max_links)),
            ("hash", "sha2-256"),
            ("trickle", "false"),
        ]

    def describe(self) -> str:
        leaves = "raw" if self.raw_leaves else "dag-pb"
        return (
            f"{self.name}: CIDv{self.cid_version}, {leaves} leaves, "
            f"{self.chunk_size} B chunks, {self.max_links} links per node"
        )


LEGACY_V0 = CidProfile("legacy-v0", 0, False, LEGACY_CHUNK_SIZE, LEGACY_MAX_LINKS)
LEGACY_V1 = CidProfile("legacy-v1", 1, True, LEGACY_CHUNK_SIZE, LEGACY_MAX_LINKS)
UNIXFS_V1_2025 = CidProfile("unixfs-v1-2025", 1, True, 1_048_576, 1024)

PROFILES: dict[str, CidProfile] = {p.name: p for p in (LEGACY_V0, LEGACY_V1, UNIXFS_V1_2025)}
# kubo's names for the same option sets.
ALIASES = {"unixfs-v0-2015": "legacy-v0", "legacy-cid-v0": "legacy-v0"}


class UnknownProfile(ValueError):
    pass


def get_profile(name: str) -> CidProfile:
    """A profile by its name (or one of kubo's names for it)."""
    key = ALIASES.get(name, name)
    if key in PROFILES:
        return PROFILES[key]
    for version in (0, 1):  # the descriptive names `legacy_profile` gives odd leaf choices
        for raw_leaves in (True, False):
            odd = legacy_profile(version, raw_leaves)
            if odd.name == key:
                return odd
    known = ", ".join([*PROFILES, *ALIASES])
    raise UnknownProfile(f"unknown CID profile {name!r}; expected one of {known}")


def legacy_profile(cid_version: int, raw_leaves: bool | None = None) -> CidProfile:
    """kubo's historical defaults for `--cid-version=N` (v1 implies raw leaves).

    With `raw_leaves` against the version's default (not a product setting, but `ipfs add`
    allows it), the profile gets a descriptive name that no setting uses.
    """
    if cid_version not in (0, 1):
        raise ValueError(f"cid_version must be 0 or 1, not {cid_version!r}")
    named = LEGACY_V1 if cid_version == 1 else LEGACY_V0
    if raw_leaves is None or raw_leaves == named.raw_leaves:
        return named
    leaves = "raw-leaves" if raw_leaves else "dag-pb-leaves"
    return CidProfile(
        f"legacy-v{cid_version}-{leaves}",
        cid_version,
        raw_leaves,
        LEGACY_CHUNK_SIZE,
        LEGACY_MAX_LINKS,
    )


def profile_for_record(name: str | None, cid_version: int, raw_leaves: bool) -> CidProfile:
    """The profile a stored record names; records written before profiles existed are legacy."""
    if name:
        return get_profile(name)
    return legacy_profile(cid_version, raw_leaves)
