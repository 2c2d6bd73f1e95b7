"""The HubSpot calls of the pull, the import, the reconcile and the audit notes, on top of the
glue's one HubSpot seam (:class:`glue.hubspot.client.HubSpotClient`): its rate limiter,
retries, timeouts and error mapping (every call goes through ``HubSpotClient.call``), and its one
SDK client.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import hubspot.crm.objects as objects

from glue.config import Settings
from glue.hubspot import wire
from glue.hubspot.client import (
    MAX_BATCH,
    MAX_HISTORY_BATCH,
    BatchResult,
    HubSpotClient,
    limiter_name,
)
from glue.hubspot.ratelimit import RateLimiter, build_limiter

# How it works (the detail of the module docstring):
#
# - ``search``: CRM search, which HubSpot limits separately (4 requests/s per account): each search
#   first takes a token from a second limiter (``search_limiter``), then the general one.
# - ``read``: batch read by id (or by a unique property), 100 per call, 50 when it asks for
#   properties' history (HubSpot refuses more: ``MAX_HISTORY_BATCH``).
# - ``archived``: the archived records of a type (the list endpoint with ``archived=true``):
#   search never returns them.
# - ``create_notes``: batch create of notes. Unlike every other write of the glue it is not
#   idempotent, so it is sent once, without the client's automatic retry of 5xx and timeouts (a
#   429 is still waited out: HubSpot applied nothing). A call whose outcome is unknown raises; the
#   caller finds out what exists (by searching the notes' ``mockbook_audit_id``) before trying
#   again.

log = logging.getLogger(__name__)

NOTES = "0-46"
SEARCH_PAGE = 200  # HubSpot's cap on one search page
LIST_PAGE = 100  # ...and on one list page


@dataclass
class SearchPage:
    results: list[dict[str, Any]]
    total: int
    after: str | None  # the next page's cursor, None on the last page


def search_limiter(settings: Settings) -> RateLimiter:
    """The account's search budget (HUBSPOT_SEARCH_RATE per second), shared through Redis like
    the general one when REDIS_URL is set. No margin: a search counts from its grant until one
    second after its answer, and HubSpot counted it before it answered, so a search granted
    then arrives more than a second after it. A margin would add its length to every token's
    turn (4 searches take the second, their latency and the margin)."""
    token = settings.hubspot_access_token or ""
    return build_limiter(
        limit=max(1, settings.search_rate_per_second),
        window=1.0,
        daily=10**9,  # the daily budget is counted once, by the general limiter
        redis_url=settings.redis_url,
        name=limiter_name(token) + ":search",
        margin=0.0,
    )


_SERIALIZER = objects.ApiClient()


def as_json(data: Any) -> dict[str, Any]:
    """An answer as HubSpot's JSON (the client returns JSON; an SDK model is converted)."""
    if data is None:
        return {}
    if isinstance(data, dict):
        return data
    return _SERIALIZER.sanitize_for_serialization(data)


def record(data: Any) -> dict[str, Any]:
    """One HubSpot object as the plain record the database functions take:
    ``{"id", "properties", "archived", "archivedAt", "createdAt", "updatedAt"}``.

    ``createdAt`` is when HubSpot created the object, a top-level field of every CRM object,
    contacts and custom objects alike (required in ``SimplePublicObject``, ISO 8601:
    https://developers.hubspot.com/docs/api-reference/crm-objects-v3/guide); the property
    ``createdate`` / ``hs_createdate`` holds the same instant but is only returned when asked
    for. An inserted row takes it as its created_at (``mockbook_internal.pulled_created_at``),
    so an imported history keeps its days (``daily_booking_trends``).

    ``archivedAt`` is when HubSpot archived (deleted) the object, on the records read with
    ``archived=true`` (``SimplePublicObject.archivedAt``, ISO 8601, in HubSpot's CRM objects
    v3 OpenAPI spec; https://developers.hubspot.com/docs/api-reference/crm-objects-v3/guide),
    None otherwise. ``apply_pulled_exams`` stores it as the exam's last applied HubSpot time,
    so a read made before the deletion never reopens the exam."""
    data = as_json(data)
    created = data.get("createdAt")
    archived_at = data.get("archivedAt")
    out = {
        "id": str(data.get("id")),
        "properties": dict(data.get("properties") or {}),
        "archived": bool(data.get("archived")),
        "archivedAt": None if archived_at is None else str(archived_at),
        # an SDK model's datetime comes back from as_json as ISO 8601 already
        "createdAt": None if created is None else str(created),
        "updatedAt": data.get("updatedAt"),
    }
    if data.get("refused"):  # the screen refused it as it was decoded (glue.hubspot.wire.Record)
        out["refused"] = data["refused"]
    return out


class HubSpotReader:
    """``HubSpotReader(client, search_limiter)``: the read calls (and note creation)."""

    def __init__(self, client: HubSpotClient, search_limiter: RateLimiter | None = None) -> None:
        self.client = client
        self.search_limiter = search_limiter
        # The client's own SDK APIs and model configuration: one SDK client for the whole glue.
        self._cfg = client.objects_config
        self._search = client.search_api
        self._basic = client.basic_api
        self._objects_batch = client.batch_api
        self.searches = 0

    @classmethod
    def from_settings(cls, client: HubSpotClient, settings: Settings) -> HubSpotReader:
        return cls(client, search_limiter(settings))

    # ---- search -------------------------------------------------------------------------------
    def search(
        self,
        object_type: str,
        filter_groups: Sequence[Sequence[dict[str, Any]]],
        *,
        properties: Sequence[str],
        sorts: Sequence[str] = (),
        limit: int = SEARCH_PAGE,
        after: str = "0",
    ) -> SearchPage:
        """One search page. ``filter_groups``: [[{"propertyName", "operator", "value"|"values"}]]
        (groups are ORed, filters in a group ANDed)."""
        cfg = self._cfg
        body = objects.PublicObjectSearchRequest(
            filter_groups=[
                objects.FilterGroup(
                    filters=[
                        objects.Filter(
                            property_name=f["propertyName"],
                            operator=f["operator"],
                            value=f.get("value"),
                            values=f.get("values"),
                            high_value=f.get("highValue"),
                            local_vars_configuration=cfg,
                        )
                        for f in group
                    ],
                    local_vars_configuration=cfg,
                )
                for group in filter_groups
            ],
            sorts=list(sorts),
            properties=list(properties),
            limit=limit,
            after=after,
            local_vars_configuration=cfg,
        )
        # The search token is held until the answer, the general limiter's wait included
        # (HubSpot counts the search when it arrives: glue.hubspot.ratelimit).
        with self.search_limiter.hold() if self.search_limiter else contextlib.nullcontext():
            self.searches += 1
            data, _ = self.client.call(
                f"search {object_type}", self._search.do_search_with_http_info, object_type, body,
                shape=wire.SEARCH,
            )
        data = as_json(data)
        nxt = ((data.get("paging") or {}).get("next") or {}).get("after")
        return SearchPage(
            results=[record(r) for r in data.get("results") or []],
            total=int(data.get("total") or 0),
            after=nxt,
        )

    # ---- reads --------------------------------------------------------------------------------
    def read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str],
        id_property: str | None = None,
        history: Sequence[str] = (),
        archived: bool = False,
    ) -> list[dict[str, Any]]:
        """Batch read (100 per call, 50 with ``history``); ids HubSpot does not know are left
        out. ``history``: properties whose past values come too (``propertiesWithHistory``,
        newest first). ``archived``: read the archived records instead (with ``archivedAt``)."""
        out: list[dict[str, Any]] = []
        size = MAX_HISTORY_BATCH if history else MAX_BATCH
        for start in range(0, len(ids), size):
            chunk = list(ids[start : start + size])
            body = objects.BatchReadInputSimplePublicObjectId(
                inputs=[
                    objects.SimplePublicObjectId(id=i, local_vars_configuration=self._cfg)
                    for i in chunk
                ],
                properties=list(properties),
                properties_with_history=list(history),
                id_property=id_property,
                local_vars_configuration=self._cfg,
            )
            # "true", not Python's True (the SDK would send "True"), as ``archived`` below
            extra: dict[str, Any] = {"archived": "true"} if archived else {}

            def batch(_body: Any = body, _extra: dict[str, Any] = extra, **options: Any) -> Any:
                return self._objects_batch.read_with_http_info(
                    object_type, _body, **_extra, **options
                )

            data, _ = self.client.call(f"read {object_type}", batch, shape=wire.BATCH)
            for r in as_json(data).get("results") or []:
                item = record(r)
                if history:
                    item["propertiesWithHistory"] = r.get("propertiesWithHistory") or {}
                out.append(item)
        return out

    def archived(
        self, object_type: str, *, properties: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """Every archived record of a type (100 per call)."""
        after: str | None = None
        while True:
            # "true", not Python's True (the SDK would send "True"): the spec's boolean.
            args: dict[str, Any] = {"limit": LIST_PAGE, "archived": "true"}
            if properties:
                args["properties"] = list(properties)
            if after:
                args["after"] = after

            def page(_args: dict[str, Any] = args, **options: Any) -> Any:
                return self._basic.get_page_with_http_info(object_type, **_args, **options)

            data, _ = self.client.call(f"list archived {object_type}", page, shape=wire.PAGE)
            data = as_json(data)
            for r in data.get("results") or []:
                item = record(r)
                item["archived"] = True
                yield item
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    # ---- notes --------------------------------------------------------------------------------
    def create_notes(self, inputs: Sequence[dict[str, Any]]) -> BatchResult:
        """Batch create notes ``{"properties": {...}, "trace": ...}`` (at most 100), sent once
        (see above); results carry ``object_write_trace_id``."""
        body = objects.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                objects.SimplePublicObjectBatchInputForCreate(
                    properties=i["properties"],
                    associations=[],
                    object_write_trace_id=i.get("trace"),
                    local_vars_configuration=self._cfg,
                )
                for i in inputs
            ],
            local_vars_configuration=self._cfg,
        )
        data, status = self.client.call(
            "create notes", self._objects_batch.create_with_http_info, NOTES, body, retry=False,
            shape=wire.BATCH,
        )
        return HubSpotClient._batch_result(data, status)
