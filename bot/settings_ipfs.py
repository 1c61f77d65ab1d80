"""IPFS settings: the pinner, gateways, CID profiles, pin targets, re-verification.

A mixin of `bot.settings.Settings` (its fields, checks and derived values live together here;
the README's "IPFS" section describes them for users).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode

from bot import settings_checks as checks
from bot.settings_types import HttpUrl, OptionalHttpUrl, Secret, blank_is_unset

if TYPE_CHECKING:
    from storage.ipfs.profiles import CidProfile
    from storage.ipfs.targets import TargetSpec


def _json_list_or_blank(value: object) -> object:
    """BOT_IPFS_TARGETS is JSON; decoded here (not by pydantic-settings) so that bad JSON is one
    line about this setting, like any other bad value. Blank means no list."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return []
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"must be a JSON list of targets ({exc.msg} at character {exc.pos})"
        ) from None


def _gateway_list_or_none(value: str) -> str:
    """BOT_IPFS_VERIFY_GATEWAYS: http(s) URLs, or `none` (verify reads no gateway)."""
    if value.strip().lower() == "none":
        return "none"
    return checks.http_url_list(value)


class PinnerKind(StrEnum):
    LOCAL = "local"
    KUBO = "kubo"
    PINNING_SERVICE = "pinning-service"


class PinTargetSetting(BaseModel):
    """One entry of BOT_IPFS_TARGETS (a JSON list of these objects)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    kind: PinnerKind
    url: OptionalHttpUrl = Field(None, description="kubo RPC or service API base URL.")
    token: Secret = Field(None, description="Bearer token (a service's; kubo's if it has one).")
    required: bool = Field(True, description="A pin is done when every required target has it.")
    provide_via: str | None = Field(
        None, description="pinning-service: name of a kubo target to add content to first."
    )


class IpfsSettings(BaseModel):
    # --- where content goes, and where images come from ---------------------------------------
    ipfs_pinner: PinnerKind = Field(PinnerKind.LOCAL, description="local, kubo or pinning-service.")
    ipfs_api_url: HttpUrl = Field("http://127.0.0.1:5001", description="Kubo RPC API base URL.")
    pinning_service_url: OptionalHttpUrl = Field(
        None, description="IPFS Pinning Service API base URL; http(s)."
    )
    pinning_service_token: Secret = Field(None, description="Bearer token for it.")
    ipfs_cid_version: int = Field(1, ge=0, le=1, description="CID version for new content.")
    ipfs_pin_frames: bool = Field(False, description="Pin every generated frame as it is written.")
    ipfs_provide_via_kubo: bool = Field(
        False,
        description="With pinner=pinning-service, also add content to the kubo node at "
        "BOT_IPFS_API_URL and send its addresses as origins, so the service can fetch it.",
    )
    ipfs_gateways: Annotated[str, AfterValidator(checks.http_url_list)] = Field(
        "https://ipfs.io/ipfs/,https://dweb.link/ipfs/",
        description="Comma-separated http(s) gateways tried in order to fetch ipfs:// images.",
    )

    # --- IPFS: CID profiles, pin targets, re-verification (issue 11) -------------------------
    ipfs_cid_profile: str = Field(
        "legacy",
        max_length=64,
        description="CID profile for new content: legacy (the legacy layout with "
        "BOT_IPFS_CID_VERSION), legacy-v0, legacy-v1 or unixfs-v1-2025 (kubo's names "
        "unixfs-v0-2015 and legacy-cid-v0 are accepted).",
    )
    ipfs_targets: Annotated[
        list[PinTargetSetting], NoDecode, BeforeValidator(_json_list_or_blank)
    ] = Field(
        [],
        max_length=16,
        description='JSON list of pin targets, e.g. [{"name":"local","kind":"local"},{"name":'
        '"node","kind":"kubo","url":"http://127.0.0.1:5001"},{"name":"pinata","kind":'
        '"pinning-service","url":"https://api.pinata.cloud/psa","token":"…","required":false}]; '
        "empty: the one target BOT_IPFS_PINNER names.",
    )
    ipfs_verify_gateways: Annotated[
        Annotated[str, AfterValidator(_gateway_list_or_none)] | None,
        BeforeValidator(blank_is_unset),
    ] = Field(
        None,
        description="Comma-separated http(s) gateways `bot pins verify` reads every CID back "
        "through; empty: BOT_IPFS_GATEWAYS; none: no gateway.",
    )
    ipfs_verify_timeout_s: float = Field(
        30.0, ge=1, le=600, description="Per-request timeout of `bot pins verify` in seconds."
    )

    @field_validator("ipfs_cid_profile")
    @classmethod
    def _known_cid_profile(cls, value: str) -> str:
        from storage.ipfs.profiles import get_profile

        if value != "legacy":
            get_profile(value)  # raises with the list of known names
        return value

    @model_validator(mode="after")
    def _ipfs_profile_and_targets_agree(self) -> Self:
        profile = self.cid_profile
        version_given = "ipfs_cid_version" in self.model_fields_set
        if version_given and profile.cid_version != self.ipfs_cid_version:
            raise ValueError(
                f"BOT_IPFS_CID_PROFILE={self.ipfs_cid_profile} makes CIDv{profile.cid_version} "
                f"but BOT_IPFS_CID_VERSION={self.ipfs_cid_version}: drop one of them"
            )
        from storage.ipfs.targets import check_specs

        try:
            check_specs(self.pin_target_specs)
        except ValueError as exc:
            raise ValueError(
                f"BOT_IPFS_TARGETS: {exc}" if self.ipfs_targets else str(exc)
            ) from None
        return self

    @property
    def cid_profile(self) -> CidProfile:
        """The CID profile new content is imported with."""
        from storage.ipfs.profiles import get_profile, legacy_profile

        if self.ipfs_cid_profile == "legacy":
            return legacy_profile(self.ipfs_cid_version)
        return get_profile(self.ipfs_cid_profile)

    @property
    def pin_target_specs(self) -> list[TargetSpec]:
        """BOT_IPFS_TARGETS, or the one target of BOT_IPFS_PINNER (named after its kind)."""
        from storage.ipfs.targets import TargetSpec

        if not self.ipfs_targets:
            return [self._legacy_target_spec()]
        by_name = {entry.name: entry for entry in self.ipfs_targets}
        specs = []
        for entry in self.ipfs_targets:
            provider = by_name.get(entry.provide_via) if entry.provide_via else None
            if entry.provide_via and (provider is None or provider.kind is not PinnerKind.KUBO):
                raise ValueError(
                    f"pin target {entry.name!r}: provide_via={entry.provide_via!r} must name a "
                    "kubo target in BOT_IPFS_TARGETS"
                )
            specs.append(
                TargetSpec(
                    name=entry.name,
                    kind=entry.kind.value,
                    url=entry.url,
                    token=entry.token.get_secret_value() if entry.token else None,
                    required=entry.required,
                    provider_url=provider.url if provider else None,
                    provider_token=(
                        provider.token.get_secret_value() if provider and provider.token else None
                    ),
                )
            )
        return specs

    def _legacy_target_spec(self) -> TargetSpec:
        from storage.ipfs.targets import TargetSpec

        kind = self.ipfs_pinner
        if kind is PinnerKind.KUBO:
            return TargetSpec("kubo", "kubo", url=self.ipfs_api_url)
        if kind is PinnerKind.PINNING_SERVICE:
            if not self.pinning_service_url or not self.pinning_service_token:
                raise ValueError(
                    "BOT_IPFS_PINNER=pinning-service needs BOT_PINNING_SERVICE_URL and "
                    "BOT_PINNING_SERVICE_TOKEN"
                )
            return TargetSpec(
                "pinning-service",
                "pinning-service",
                url=self.pinning_service_url,
                token=self.pinning_service_token.get_secret_value(),
                provider_url=self.ipfs_api_url if self.ipfs_provide_via_kubo else None,
            )
        return TargetSpec("local", "local")

    @property
    def verify_gateways(self) -> tuple[str, ...]:
        text = self.ipfs_verify_gateways
        if text is None:
            text = self.ipfs_gateways
        elif text == "none":
            return ()
        return tuple(g.strip().rstrip("/") + "/" for g in text.split(",") if g.strip())
