"""The sandbox's router, and the single-object endpoints of HubSpot CRM objects v3.

Endpoints take a parsed :class:`Req` and return ``(status, json body or None)``; errors are
raised as :class:`ApiError`. Batch and search endpoints are in ``batch.py``, associations and
schemas in ``assoc.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from .assoc import AssociationsApi, SchemasApi
from .batch import BatchApi
from .errors import (
    CONFLICT,
    OBJECT_NOT_FOUND,
    VALIDATION_ERROR,
    ApiError,
    Req,
    parse_properties,
)
from .properties import LabelsApi, PropertiesApi
from .schema import check_values
from .store import Conflict, ObjectType, Record, Store, iso

MAX_LIST = 100
Route = tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]
Rule = tuple[Callable[[dict[str, str]], bool], str]


class Api:
    """Routes requests to the objects, associations and schemas endpoints."""

    def __init__(self, store: Store, search_lag: Callable[[], float]) -> None:
        self.store = store
        self.search_lag = search_lag
        self.rules: dict[str, list[Rule]] = {}
        assoc = AssociationsApi(self)
        schemas = SchemasApi(self)
        batch = BatchApi(self)
        props = PropertiesApi(self)
        labels = LabelsApi(self)
        prop = r"/crm/v3/properties/(?P<t>[^/]+)"
        obj = r"/crm/v3/objects/(?P<t>[^/]+)"
        v4 = r"/crm/v4/associations/(?P<f>[^/]+)/(?P<t>[^/]+)/batch"
        v4o = r"/crm/v4/objects/(?P<f>[^/]+)/(?P<fid>[^/]+)/associations"
        sch = r"/crm(?:-object-schemas)?/v3/schemas"
        table: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("POST", obj + "/search", batch.search),
            ("POST", r"/crm/v3/objects/(?P<t>contacts|0-1)/merge", self.merge),
            ("POST", obj + "/batch/create", batch.batch_create),
            ("POST", obj + "/batch/update", batch.batch_update),
            ("POST", obj + "/batch/upsert", batch.batch_upsert),
            ("POST", obj + "/batch/read", batch.batch_read),
            ("POST", obj + "/batch/archive", batch.batch_archive),
            ("GET", obj, self.list),
            ("POST", obj, self.create),
            ("GET", obj + "/(?P<oid>[^/]+)", self.get),
            ("PATCH", obj + "/(?P<oid>[^/]+)", self.update),
            ("DELETE", obj + "/(?P<oid>[^/]+)", self.archive),
            ("POST", v4 + "/create", assoc.batch_create),
            ("POST", v4 + "/associate/default", assoc.batch_default),
            ("POST", v4 + "/read", assoc.batch_read),
            ("POST", v4 + "/archive", assoc.batch_archive),
            ("POST", v4 + "/labels/archive", assoc.batch_archive_labels),
            ("PUT", v4o + "/default/(?P<t>[^/]+)/(?P<tid>[^/]+)", assoc.put_default),
            ("GET", v4o + "/(?P<t>[^/]+)", assoc.list),
            ("PUT", v4o + "/(?P<t>[^/]+)/(?P<tid>[^/]+)", assoc.put_labelled),
            ("DELETE", v4o + "/(?P<t>[^/]+)/(?P<tid>[^/]+)", assoc.delete),
            ("GET", sch, schemas.list),
            ("POST", sch, schemas.create),
            ("GET", sch + "/(?P<t>[^/]+)", schemas.get),
            ("POST", sch + "/(?P<t>[^/]+)/associations", schemas.create_association),
            ("GET", prop + "/groups", props.groups),
            ("POST", prop + "/groups", props.create_group),
            ("GET", prop, props.list),
            ("POST", prop, props.create),
            ("GET", prop + "/(?P<name>[^/]+)", props.get),
            ("PATCH", prop + "/(?P<name>[^/]+)", props.update),
            ("GET", r"/crm/v4/associations/(?P<f>[^/]+)/(?P<t>[^/]+)/labels", labels.list),
            ("POST", r"/crm/v4/associations/(?P<f>[^/]+)/(?P<t>[^/]+)/labels", labels.create),
        ]
        self._routes: list[Route] = [(m, re.compile(f"^{p}/?$"), fn) for m, p, fn in table]

    def handle(self, method: str, path: str, req: Req) -> tuple[int, Any]:
        allowed = False
        for route_method, pattern, fn in self._routes:
            match = pattern.match(path)
            if not match:
                continue
            if route_method != method:
                allowed = True
                continue
            return fn(req, **{k: unquote(v) for k, v in match.groupdict().items()})
        if allowed:
            raise ApiError(405, f"HTTP {method} is not supported on {path}")
        raise ApiError(404, f"No HubSpot endpoint matches {method} {path}", OBJECT_NOT_FOUND)

    # ---- helpers shared with the associations and schemas endpoints -----------------------
    def type_of(self, key: str) -> ObjectType:
        ot = self.store.resolve_type(key)
        if ot is None:
            raise ApiError(400, f"Unable to infer object type from: {key}")
        return ot

    def rejected(self, ot: ObjectType, props: dict[str, str]) -> None:
        """Apply the test-installed ``reject_when`` rules to a record's future properties."""
        for predicate, message in self.rules.get(ot.type_id, []):
            if predicate(dict(props)):
                raise ApiError(
                    400,
                    message,
                    VALIDATION_ERROR,
                    {
                        "propertyValues": [
                            f"{k}={v}"
                            for k, v in sorted(props.items())
                            if k in ot.unique_properties
                        ]
                    },
                )

    @staticmethod
    def conflict(ot: ObjectType, exc: Conflict, value: str) -> ApiError:
        noun = "Contact" if ot.is_contact else f"A {ot.name} object"
        return ApiError(
            409,
            f"{noun} with {exc.prop} {value!r} already exists. Existing ID: {exc.existing_id}",
            CONFLICT,
            {"existingId": [exc.existing_id], "property": [exc.prop]},
        )

    def find(
        self, ot: ObjectType, key: str, id_property: str | None, archived: bool = False
    ) -> Record | None:
        if id_property and id_property != "hs_object_id":
            rec = self.store.find_unique(ot, id_property, key)
            return rec if rec is not None and rec.archived == archived else None
        rec = self.store.get(ot, key, archived=archived)
        if rec is None and not archived:  # a merged-away id reads as the record it merged into
            rec = self.store.merged_into(ot, key)
        return rec

    def out(
        self,
        ot: ObjectType,
        rec: Record,
        requested: list[str] | None = None,
        *,
        full: bool = False,
        trace: str | None = None,
        new: bool | None = None,
        history: list[str] | None = None,
    ) -> dict:
        """A record as HubSpot returns it; reads show the default plus requested properties."""
        if full:
            props = dict(rec.properties)
        else:
            names = set(ot.default_properties) | set(requested or [])
            props = {k: v for k in names if (v := rec.properties.get(k)) is not None}
        body = rec.as_dict()
        body["properties"] = props
        if rec.archived and rec.archived_ms is not None:
            body["archivedAt"] = iso(rec.archived_ms)
        if trace:
            body["objectWriteTraceId"] = trace
        if new is not None:
            body["new"] = new
        if history:  # newest first, as HubSpot lists them
            body["propertiesWithHistory"] = {
                name: [
                    {"value": value, "timestamp": iso(ms), "sourceType": "API"}
                    for ms, value in reversed(rec.history.get(name, []))
                ]
                for name in history
                if name in rec.properties
            }
        return body

    def values(self, ot: ObjectType, raw: Any, *, create: bool = False) -> dict[str, str]:
        """A write's ``properties`` as stored: parsed, then checked against the portal's
        properties (unknown property, type, options, date formats, required note fields: see
        glue/sandbox/schema.py); ApiError 400 VALIDATION_ERROR otherwise."""
        return check_values(ot, parse_properties(raw), create=create)

    def write(self, ot: ObjectType, rec: Record | None, props: dict[str, str]) -> Record:
        """Create (rec None) or update one record after the rules and uniqueness checks."""
        merged = {**(rec.properties if rec else {}), **props}
        self.rejected(ot, merged)
        try:
            if rec is None:
                return self.store.create(ot, props)
            return self.store.update(ot, rec, props)
        except Conflict as exc:
            raise self.conflict(ot, exc, merged.get(exc.prop, "")) from None

    # ---- single-object endpoints ------------------------------------------------------------
    def create(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self.type_of(t)
        body = req.obj()
        props = self.values(ot, body.get("properties"), create=True)
        with self.store.lock:
            links = self.assoc_plan(ot, body.get("associations"))
            rec = self.write(ot, None, props)
            self.link(ot, rec, links)
            return 201, self.out(ot, rec, full=True)

    def get(self, req: Req, t: str, oid: str) -> tuple[int, Any]:
        ot = self.type_of(t)
        rec = self.find(ot, oid, req.q("idProperty"), req.qbool("archived"))
        if rec is None:
            raise ApiError(
                404, f"Object not found. objectId are usually numeric. ({oid})", OBJECT_NOT_FOUND
            )
        body = self.out(
            ot, rec, req.qlist("properties"), history=req.qlist("propertiesWithHistory")
        )
        assocs: dict[str, Any] = {}
        for name in req.qlist("associations"):
            to = self.store.resolve_type(name)
            if to is None:
                continue
            found = self.store.associated(ot.type_id, rec.id, to.type_id)
            if found:
                assocs[name] = {
                    "results": [
                        {"id": tid, "type": f"{ot.name}_to_{to.name}"} for _, tid, _ in found
                    ]
                }
        if assocs:
            body["associations"] = assocs
        return 200, body

    def update(self, req: Req, t: str, oid: str) -> tuple[int, Any]:
        ot = self.type_of(t)
        props = self.values(ot, req.obj().get("properties"))
        with self.store.lock:
            rec = self.find(ot, oid, req.q("idProperty"))
            if rec is None:
                raise ApiError(
                    404,
                    f"Object not found. objectId are usually numeric. ({oid})",
                    OBJECT_NOT_FOUND,
                )
            return 200, self.out(ot, self.write(ot, rec, props), full=True)

    def archive(self, req: Req, t: str, oid: str) -> tuple[int, Any]:
        ot = self.type_of(t)
        with self.store.lock:
            rec = self.store.get(ot, oid)
            if rec is not None:
                self.store.archive(ot, rec)
        return 204, None

    def merge(self, req: Req, t: str) -> tuple[int, Any]:
        """``POST /crm/v3/objects/contacts/merge`` {primaryObjectId, objectIdToMerge}: the merged
        contact (see Store.merge; https://developers.hubspot.com/docs/api/crm/contacts, "Merge
        contacts")."""
        ot = self.type_of(t)
        body = req.obj()
        primary_id, other_id = body.get("primaryObjectId"), body.get("objectIdToMerge")
        if not isinstance(primary_id, str) or not isinstance(other_id, str):
            raise ApiError(400, "primaryObjectId and objectIdToMerge are required strings")
        if primary_id == other_id:
            raise ApiError(400, "Cannot merge a record into itself", VALIDATION_ERROR)
        with self.store.lock:
            primary, other = self.store.get(ot, primary_id), self.store.get(ot, other_id)
            missing = [i for i, r in ((primary_id, primary), (other_id, other)) if r is None]
            if missing:
                raise ApiError(
                    404,
                    f"Object not found. objectId are usually numeric. ({', '.join(missing)})",
                    OBJECT_NOT_FOUND,
                )
            return 200, self.out(ot, self.store.merge(ot, primary, other), full=True)

    def list(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self.type_of(t)
        try:
            limit = min(int(req.q("limit") or 10), MAX_LIST)
            offset = int(req.q("after") or 0)
        except ValueError:
            raise ApiError(400, "limit and after must be integers") from None
        recs = self.store.records(ot)
        if req.qbool("archived"):
            recs = [r for r in self.store.records(ot, include_archived=True) if r.archived]
        recs.sort(key=lambda r: int(r.id))
        page = recs[offset : offset + limit]
        body: dict[str, Any] = {"results": [self.out(ot, r, req.qlist("properties")) for r in page]}
        if offset + limit < len(recs):
            nxt = str(offset + limit)
            body["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return 200, body

    # ---- associations given inline on create ----------------------------------------------
    def assoc_plan(self, ot: ObjectType, value: Any) -> list[tuple[str, str, list[int]]]:
        """Validate ``associations`` of a create input: [(to type, to id, type ids)]."""
        plan = []
        for item in value or []:
            try:
                to_id = str(item["to"]["id"])
                type_ids = [int(spec["associationTypeId"]) for spec in item["types"]]
            except (KeyError, TypeError, ValueError):
                raise ApiError(400, f"Invalid association input: {item!r}") from None
            to_types = set()
            for tid in type_ids:
                at = self.store.assoc_type(tid)
                if at is None or at.from_type != ot.type_id:
                    raise ApiError(400, f"Unknown association type id {tid} from {ot.name}")
                to_types.add(at.to_type)
            for to_type in to_types:
                if self.store.resolve_type(to_type) is None or not self.store.get(
                    self.store.resolve_type(to_type), to_id
                ):
                    raise ApiError(
                        400,
                        f"Association target {to_type}/{to_id} does not exist",
                        context={"toObjectId": [to_id]},
                    )
                plan.append((to_type, to_id, type_ids))
        return plan

    def link(self, ot: ObjectType, rec: Record, plan: list[tuple[str, str, list[int]]]) -> None:
        for to_type, to_id, type_ids in plan:
            self.store.associate(ot.type_id, rec.id, to_type, to_id, type_ids)
