"""Batch endpoints (create, update, upsert, read, archive) and search of CRM objects v3.

Each batch runs under the store lock, so it is applied atomically, as one HubSpot request is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import search
from .errors import (
    OBJECT_NOT_FOUND,
    ApiError,
    Req,
    batch_body,
    parse_properties,
    record_error,
)
from .schema import validate, validation_error
from .store import now_ms

if TYPE_CHECKING:
    from .api import Api

MAX_BATCH = 100
# A batch read asking for ``propertiesWithHistory`` takes at most 50 inputs: HubSpot answers
# 400 VALIDATION_ERROR with this message above it (reported from production in
# https://github.com/activepieces/activepieces/pull/9359 and
# https://github.com/PipedreamHQ/pipedream/pull/8462; HubSpot/hubspot-api-python#143 is the same
# limit on the list endpoint). The glue's side: glue.hubspot.client.MAX_HISTORY_BATCH.
MAX_HISTORY_BATCH = 50
HISTORY_LIMIT_MESSAGE = (
    f"The maximum number of inputs supported in a batch request for property histories is "
    f"{MAX_HISTORY_BATCH}. Please reduce the number of items and try again"
)


class BatchApi:
    """``/crm/v3/objects/{type}/batch/*`` and ``/crm/v3/objects/{type}/search``."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def batch_create(self, req: Req, t: str) -> tuple[int, Any]:
        """201, or 207 with ``errors`` only when every input has a unique objectWriteTraceId;
        otherwise any failing input fails the whole batch (nothing is created)."""
        ot = self.api.type_of(t)
        inputs = req.inputs(MAX_BATCH)
        values = self._values(ot, inputs, create=True)
        started = now_ms()
        with self.store.lock:
            plans, errors = [], []
            batch_unique: dict[tuple[str, str], int] = {}
            for i, item in enumerate(inputs):
                trace = item.get("objectWriteTraceId") if isinstance(item, dict) else None
                try:
                    if not isinstance(item, dict):
                        raise ApiError(400, f"Invalid input at index {i}")
                    props = values[i]
                    links = self.api.assoc_plan(ot, item.get("associations"))
                    self.api.rejected(ot, props)
                    clash = self.store.unique_conflict(ot, props)
                    if clash:
                        raise self.api.conflict(ot, clash, props[clash.prop])
                    for prop in ot.unique_properties:
                        if props.get(prop):
                            key = (prop, props[prop].lower() if prop == "email" else props[prop])
                            if key in batch_unique:
                                raise ApiError(
                                    400,
                                    f"Duplicate {prop} {props[prop]!r} in batch "
                                    f"input (also at index {batch_unique[key]})",
                                )
                            batch_unique[key] = i
                    plans.append((trace, props, links))
                except ApiError as exc:
                    errors.append((trace, exc))
            traces = [
                item.get("objectWriteTraceId") if isinstance(item, dict) else None
                for item in inputs
            ]
            multi = all(isinstance(x, str) and x for x in traces) and len(set(traces)) == len(
                traces
            )
            if errors and not multi:
                first = errors[0][1]
                raise ApiError(first.status, first.message, first.category, first.context)
            results = []
            for trace, props, links in plans:
                rec = self.store.create(ot, props)
                self.api.link(ot, rec, links)
                results.append(self.api.out(ot, rec, full=True, trace=trace))
        errs = [exc.record_error(trace) for trace, exc in errors]
        return (207 if errs else 201), batch_body(results, errs, started)

    def _values(self, ot: Any, inputs: list, *, create: bool = False) -> list[dict[str, str]]:
        """Every input's properties, checked before anything is written: invalid values (an
        unknown property, a bad number, option or date) refuse the whole batch with one 400
        VALIDATION_ERROR listing the problems of every input (glue/sandbox/schema.py): a batch
        call answers as one request, partial failures (207) only where the batch create's
        multi-status handling applies (https://developers.hubspot.com/docs/api-reference/error-handling,
        "Multi-status errors")."""
        values, problems = [], []
        for item in inputs:
            raw = item.get("properties") if isinstance(item, dict) else None
            props, found = validate(ot, parse_properties(raw), create=create)
            values.append(props)
            problems.extend(found)
        if problems:
            raise validation_error(problems)
        return values

    def _check_duplicates(self, inputs: list) -> None:
        seen: set[tuple[str, str]] = set()
        dups = []
        for item in inputs:
            if not isinstance(item, dict) or "id" not in item:
                raise ApiError(400, f"Invalid input JSON: every input needs an id ({item!r})")
            key = (str(item.get("idProperty") or ""), str(item["id"]))
            if key in seen:
                dups.append(key[1])
            seen.add(key)
        if dups:
            raise ApiError(
                400, f"Duplicate IDs found in batch input: {dups}", context={"ids": dups}
            )

    def batch_update(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self.api.type_of(t)
        inputs = req.inputs(MAX_BATCH)
        self._check_duplicates(inputs)
        values = self._values(ot, inputs)
        started = now_ms()
        results, errors = [], []
        with self.store.lock:
            for item, props in zip(inputs, values, strict=True):
                trace, key = item.get("objectWriteTraceId"), str(item["id"])
                try:
                    rec = self.api.find(ot, key, item.get("idProperty"))
                    if rec is None:
                        raise ApiError(
                            404, f"Object not found: {key}", OBJECT_NOT_FOUND, {"ids": [key]}
                        )
                    results.append(
                        self.api.out(ot, self.api.write(ot, rec, props), full=True, trace=trace)
                    )
                except ApiError as exc:
                    errors.append(exc.record_error(trace))
        return (207 if errors else 200), batch_body(results, errors, started)

    def batch_upsert(self, req: Req, t: str) -> tuple[int, Any]:
        """Create or update by a unique ``idProperty``; results say ``new``."""
        ot = self.api.type_of(t)
        inputs = req.inputs(MAX_BATCH)
        self._check_duplicates(inputs)
        for item in inputs:
            prop = item.get("idProperty")
            if prop and prop != "hs_object_id" and prop not in ot.unique_properties:
                raise ApiError(
                    400,
                    f"idProperty {prop!r} is not a unique property of {ot.name}",
                    context={"idProperty": [str(prop)]},
                )
        values = self._values(ot, inputs)
        started = now_ms()
        results, errors = [], []
        with self.store.lock:
            self._check_new_ids(ot, inputs)
            for item, props in zip(inputs, values, strict=True):
                trace, key, prop = (
                    item.get("objectWriteTraceId"),
                    str(item["id"]),
                    item.get("idProperty"),
                )
                try:
                    rec = self.api.find(ot, key, prop)
                    if rec is None and (not prop or prop == "hs_object_id"):
                        raise ApiError(
                            404, f"Object not found: {key}", OBJECT_NOT_FOUND, {"ids": [key]}
                        )
                    if rec is None:
                        props[prop] = key
                    written = self.api.write(ot, rec, props)
                    results.append(
                        self.api.out(ot, written, full=True, trace=trace, new=rec is None)
                    )
                except ApiError as exc:
                    errors.append(exc.record_error(trace))
        return (207 if errors else 200), batch_body(results, errors, started)

    def _check_new_ids(self, ot: Any, inputs: list) -> None:
        """An upsert that creates a record writes its ``id`` into the ``idProperty``: that value
        is checked as any other (a contact created by an invalid email address is refused), for
        the whole batch as ``_values`` does."""
        problems = []
        for item in inputs:
            key, prop = str(item["id"]), item.get("idProperty")
            if prop and prop != "hs_object_id" and self.api.find(ot, key, prop) is None:
                problems.extend(validate(ot, {prop: key}, create=False)[1])
        if problems:
            raise validation_error(problems)

    def batch_read(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self.api.type_of(t)
        inputs = req.inputs(MAX_BATCH)
        body = req.obj()
        if body.get("propertiesWithHistory") and len(inputs) > MAX_HISTORY_BATCH:
            raise ApiError(400, HISTORY_LIMIT_MESSAGE)
        started = now_ms()
        results, missing = [], []
        for item in inputs:
            key = str(item.get("id")) if isinstance(item, dict) else str(item)
            rec = self.api.find(ot, key, body.get("idProperty"), req.qbool("archived"))
            if rec is None:
                missing.append(key)
            else:
                results.append(
                    self.api.out(
                        ot,
                        rec,
                        body.get("properties") or [],
                        history=body.get("propertiesWithHistory") or [],
                    )
                )
        errors = []
        if missing:
            errors.append(
                record_error(
                    f"Could not get some {ot.name.upper()} objects, they may be deleted or not "
                    f"exist. Check that ids are valid.",
                    OBJECT_NOT_FOUND,
                    {"ids": missing},
                )
            )
        return (207 if errors else 200), batch_body(results, errors, started)

    def batch_archive(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self.api.type_of(t)
        inputs = req.inputs(MAX_BATCH)
        with self.store.lock:
            for item in inputs:
                rec = self.store.get(ot, str(item.get("id") if isinstance(item, dict) else item))
                if rec is not None:
                    self.store.archive(ot, rec)
        return 204, None

    # ---- search ----------------------------------------------------------------------------
    def search(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self.api.type_of(t)
        body = req.obj()
        view = self.store.search_view(ot, self.api.search_lag())
        try:
            total, page, nxt = search.run(view, body, req.raw_chars)
        except search.SearchError as exc:
            raise ApiError(400, str(exc)) from None
        names = set(ot.default_properties) | set(body.get("properties") or [])
        lastmod = ot.lastmodified_property
        results = [
            {
                "id": rid,
                "properties": {k: props[k] for k in names if k in props},
                "createdAt": props["createdate"],
                "updatedAt": props[lastmod],
                "archived": False,
            }
            for rid, props in page
        ]
        out: dict[str, Any] = {"total": total, "results": results}
        if nxt is not None:
            out["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return 200, out
