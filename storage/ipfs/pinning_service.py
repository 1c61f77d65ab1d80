"""A client of the IPFS Pinning Service API (Pinata, Filebase, …), and its pinner.

The API only takes CIDs (`POST /pins`); the service then fetches the blocks from the network,
from the `origins` the client names. So this pinner computes the CID locally, keeps the blocks
in the local blockstore (the bytes are never lost, and `cat` reads them there), asks the
service to pin, and polls `GET /pins/{requestid}` until `pinned` or `failed`. A pin that is
still `queued`/`pinning` when the poll deadline passes is returned as such; `bot pins`
re-checks it later.

With a `provider` (a kubo node the service can reach), content is also added to that node
(with the same CID check as the `kubo` pinner) and the node's addresses are sent as `origins`,
so the service can fetch the blocks from it directly.

`POST /pins` is not blindly retried: after a 5xx or a lost connection the bot first asks the
service whether a request for that CID already exists (the service may have created it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests

from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.cid import same_cid
from storage.ipfs.kubo import KuboPinner
from storage.ipfs.pinner import CidMismatch, IpfsError, PinFailed, PinOutcome
from storage.ipfs.profiles import CidProfile
from storage.ipfs.transport import RETRYABLE_STATUS, RetryPolicy, json_of, send
from storage.models.pin import PinStatus
from storage.net import safe_json

ALL_STATUSES = "queued,pinning,pinned,failed"


class PinningServiceClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout_s: float = 30.0,
        policy: RetryPolicy | None = None,
    ) -> None:
        if not token:
            raise ValueError("the Pinning Service API needs an access token")
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout_s = timeout_s
        self.policy = policy or RetryPolicy()

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _request(
        self,
        method: str,
        path: str,
        *,
        cid: str | None,
        retry: bool,
        expect: int,
        retry_statuses: frozenset[int] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        url = self.url(path)
        response = send(
            self.session,
            method,
            url,
            retry=retry,
            policy=self.policy,
            cid=cid,
            timeout=self.timeout_s,
            retry_statuses=retry_statuses or RETRYABLE_STATUS,
            **kwargs,
        )
        if response.status_code != expect:
            raise IpfsError(_service_error(response), cid=cid, endpoint=f"{method} {url}")
        return response

    def get_pin(self, request_id: str, *, cid: str | None = None) -> dict[str, Any]:
        response = self._request(
            "GET",
            f"/pins/{request_id}",
            cid=cid,
            retry=True,
            expect=200,
            retry_statuses=frozenset({429, 500, 502, 503, 504}),
        )
        return dict(json_of(response, cid=cid))

    def list_recent(self, *, limit: int = 1) -> list[dict[str, Any]]:
        """The newest pinned requests: an authenticated read (`bot doctor` checks the token)."""
        response = self._request(
            "GET", "/pins", cid=None, retry=False, expect=200, params={"limit": str(limit)}
        )
        return list(json_of(response).get("results", []))

    def find_pins(self, cid: str, *, statuses: str = ALL_STATUSES) -> list[dict[str, Any]]:
        """Requests for `cid`, newest first (without `status`, the API returns only pinned)."""
        response = self._request(
            "GET",
            "/pins",
            cid=cid,
            retry=True,
            expect=200,
            retry_statuses=frozenset({429, 500, 502, 503, 504}),
            params={"cid": cid, "status": statuses, "limit": "10"},
        )
        return list(json_of(response, cid=cid).get("results", []))

    def add_pin(
        self, cid: str, *, name: str | None = None, origins: Sequence[str] = ()
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"cid": cid}
        if name:
            body["name"] = name[:255]
        if origins:
            body["origins"] = list(origins)[:20]
        last_error: IpfsError | None = None
        for attempt in range(self.policy.attempts):
            try:
                # 429 means the request was refused before anything was created: safe to resend.
                response = self._request(
                    "POST",
                    "/pins",
                    cid=cid,
                    retry=True,
                    expect=202,
                    retry_statuses=frozenset({429}),
                    json=body,
                )
                return dict(json_of(response, cid=cid))
            except IpfsError as exc:
                last_error = exc
                if not _may_have_been_created(exc):
                    raise
            existing = [
                pin for pin in self.find_pins(cid) if pin.get("status") != PinStatus.FAILED.value
            ]
            if existing:
                return dict(existing[0])
            if attempt + 1 < self.policy.attempts:
                self.policy.sleep(self.policy.delay(attempt, None))
        assert last_error is not None
        raise last_error

    def delete_pin(self, request_id: str, *, cid: str | None = None) -> None:
        self._request(
            "DELETE",
            f"/pins/{request_id}",
            cid=cid,
            retry=True,
            expect=202,
            retry_statuses=frozenset({429, 500, 502, 503, 504}),
        )


def _may_have_been_created(error: IpfsError) -> bool:
    reason = error.reason
    return (
        reason.startswith("HTTP 5")
        or "ConnectionError" in reason
        or "Timeout" in reason
        or "attempt(s)" in reason
    )


def _service_error(response: requests.Response) -> str:
    try:
        error = safe_json.loads(response.content, source=response.url).get("error", {})
        detail = f"{error.get('reason', '')}: {error.get('details', '')}".strip(": ")
    except (ValueError, AttributeError):
        detail = response.text[:300]
    return f"HTTP {response.status_code} {detail or response.reason}"


def _status_of(pin_status: dict[str, Any]) -> PinStatus:
    value = str(pin_status.get("status", ""))
    if value not in ("queued", "pinning", "pinned", "failed"):
        cid = str((pin_status.get("pin") or {}).get("cid", "")) or None
        request = pin_status.get("requestid")
        raise IpfsError(f"unknown pin status {value!r} for request {request}", cid=cid)
    return PinStatus(value)


class PinningServicePinner:
    def __init__(
        self,
        client: PinningServiceClient,
        blockstore: LocalBlockstore,
        *,
        name: str = "pinning-service",
        origins: Sequence[str] = (),
        provider: KuboPinner | None = None,
        poll_interval_s: float = 2.0,
        poll_timeout_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.name = name
        self.blockstore = blockstore
        self.origins = tuple(origins)
        self.provider = provider
        self._provider_origins: tuple[str, ...] | None = None
        self.poll_interval_s = poll_interval_s
        self.poll_timeout_s = poll_timeout_s
        self._sleep = sleep
        self._clock = clock

    def add_bytes(self, data: bytes, *, profile: CidProfile, name: str | None = None) -> PinOutcome:
        local = self.blockstore.add_bytes(data, profile=profile, name=name)
        if self.provider is not None:
            self.provider.add_bytes(data, profile=profile, name=name)
        return self._with_size(self.pin(local.cid, name=name), local.size, profile)

    def add_file(self, path: Path, *, profile: CidProfile, name: str | None = None) -> PinOutcome:
        local = self.blockstore.add_file(path, profile=profile, name=name)
        if self.provider is not None:
            self.provider.add_file(path, profile=profile, name=name)
        pinned = self.pin(local.cid, name=name or Path(path).name)
        return self._with_size(pinned, local.size, profile)

    def all_origins(self) -> tuple[str, ...]:
        """Configured origins plus the provider node's addresses (asked once)."""
        if self.provider is None:
            return self.origins
        if self._provider_origins is None:
            identity = self.provider.client.id()
            peer = str(identity.get("ID", ""))
            found = []
            for address in identity.get("Addresses") or []:
                address = str(address)
                if peer and "/p2p/" not in address:
                    address = f"{address}/p2p/{peer}"
                found.append(address)
            self._provider_origins = tuple(found)
        return (*self.origins, *self._provider_origins)[:20]

    @staticmethod
    def _with_size(outcome: PinOutcome, size: int | None, profile: CidProfile) -> PinOutcome:
        return PinOutcome(
            outcome.cid,
            outcome.target,
            outcome.status,
            size,
            outcome.request_id,
            outcome.detail,
            profile.name,
        )

    def pin(self, cid: str, *, name: str | None = None) -> PinOutcome:
        """Request the pin (or reuse a live request for the CID), then poll until it settles."""
        existing = [pin for pin in self.client.find_pins(cid) if pin.get("status") != "failed"]
        if existing:
            answer = existing[0]
        else:
            answer = self.client.add_pin(cid, name=name, origins=self.all_origins())
        self._check_cid(cid, answer)
        request_id = str(answer.get("requestid", ""))
        deadline = self._clock() + self.poll_timeout_s
        while _status_of(answer) in (PinStatus.QUEUED, PinStatus.PINNING):
            if self._clock() >= deadline:
                break
            self._sleep(self.poll_interval_s)
            answer = self.client.get_pin(request_id, cid=cid)
            self._check_cid(cid, answer)
        status = _status_of(answer)
        detail = (answer.get("info") or {}).get("status_details")
        if status is PinStatus.FAILED:
            raise PinFailed(
                f"the service reported status 'failed'{f' ({detail})' if detail else ''}",
                cid=cid,
                endpoint=self.client.url(f"/pins/{request_id}"),
            )
        return PinOutcome(cid, self.name, status, request_id=request_id, detail=detail)

    def _check_cid(self, cid: str, answer: dict[str, Any]) -> None:
        """The service must be pinning exactly our CID (compared as bytes, any base)."""
        theirs = str((answer.get("pin") or {}).get("cid", ""))
        if not same_cid(theirs, cid):
            raise CidMismatch(
                f"service answered pin.cid={theirs!r} for request {answer.get('requestid')}",
                cid=cid,
                endpoint=self.client.url("/pins"),
            )

    def status(self, cid: str, *, request_id: str | None = None) -> PinOutcome:
        if request_id:
            answer = self.client.get_pin(request_id, cid=cid)
        else:
            found = self.client.find_pins(cid)
            if not found:
                return PinOutcome(cid, self.name, PinStatus.UNPINNED)
            answer = found[0]
        self._check_cid(cid, answer)
        detail = (answer.get("info") or {}).get("status_details")
        return PinOutcome(
            cid,
            self.name,
            _status_of(answer),
            request_id=str(answer.get("requestid", "")),
            detail=detail,
        )

    def is_pinned(self, cid: str) -> bool:
        return any(pin.get("status") == "pinned" for pin in self.client.find_pins(cid))

    def cat(self, cid: str) -> bytes:
        """The Pinning Service API has no read endpoint: the bytes come from the local copy."""
        return self.blockstore.cat(cid)

    def unpin(self, cid: str, *, request_id: str | None = None) -> None:
        ids = (
            [request_id]
            if request_id
            else [str(pin["requestid"]) for pin in self.client.find_pins(cid)]
        )
        for each in ids:
            self.client.delete_pin(each, cid=cid)
        self.blockstore.unpin(cid)
