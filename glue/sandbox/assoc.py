"""Associations v4 and the minimal schemas endpoints of the sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import OBJECT_NOT_FOUND, ApiError, Req, batch_body, record_error
from .rules import check_property_definition, check_schema_name
from .store import ObjectType, iso, now_ms

if TYPE_CHECKING:
    from .api import Api

MAX_ASSOC_BATCH = 2000
# Reads take half: "Effective February 10th, 2025, any batch read requests submitted to the
# Associations API may not exceed 1000 IDs per request body ... Larger requests that exceed this
# limit will be rejected with an error response" (v3 and v4 batch/read;
# https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api).
MAX_ASSOC_READ = 1000
CATEGORIES = {"HUBSPOT_DEFINED", "INTEGRATOR_DEFINED", "USER_DEFINED", "WORK"}


def _oid(value: Any) -> str:
    try:
        return str(value["id"])
    except (KeyError, TypeError):
        raise ApiError(400, f"Invalid object reference: {value!r}") from None


class AssociationsApi:
    """``/crm/v4/associations/{from}/{to}/batch/*`` and ``/crm/v4/objects/.../associations``."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def _exists(self, ot: ObjectType, oid: str) -> None:
        if self.store.get(ot, oid) is None:
            raise ApiError(404, f"{ot.name} {oid} does not exist", OBJECT_NOT_FOUND, {"ids": [oid]})

    def _specs(self, ft: ObjectType, tt: ObjectType, types: Any) -> list[int]:
        if not isinstance(types, list) or not types:
            raise ApiError(400, "Each association input needs a non-empty 'types' list")
        ids = []
        for spec in types:
            try:
                category = spec["associationCategory"]
                type_id = int(spec["associationTypeId"])
            except (KeyError, TypeError, ValueError):
                raise ApiError(400, f"Invalid association spec: {spec!r}") from None
            if category not in CATEGORIES:
                raise ApiError(400, f"Invalid associationCategory {category!r}")
            # Only defined association types exist: the default of a defined pair, or a label
            # created with the labels API; their direction must match the call's.
            # https://developers.hubspot.com/docs/api/crm/associations/v4
            at = self.store.assoc_type(type_id)
            if at is None or (at.from_type, at.to_type) != (ft.type_id, tt.type_id):
                raise ApiError(
                    400,
                    f"associationTypeId {type_id} ({category}) is not defined from {ft.name} to "
                    f"{tt.name}",
                    context={"associationTypeId": [str(type_id)]},
                )
            if at.category != category:
                raise ApiError(
                    400,
                    f"associationTypeId {type_id} is {at.category}, not {category}",
                    context={"associationTypeId": [str(type_id)]},
                )
            ids.append(type_id)
        return ids

    def _pair(self, ft: ObjectType, fid: str, tt: ObjectType, tid: str, ids: list[int]) -> dict:
        labels = [at.label for i in ids if (at := self.store.assoc_type(i)) and at.label]
        return {
            "fromObjectTypeId": ft.type_id,
            "fromObjectId": fid,
            "toObjectTypeId": tt.type_id,
            "toObjectId": tid,
            "labels": labels,
        }

    def _default(self, ft: ObjectType, fid: str, tt: ObjectType, tid: str) -> list[dict]:
        """Create the default association both ways; the two PublicDefaultAssociation rows."""
        type_id = self.store.default_assoc_type(ft.type_id, tt.type_id)
        if type_id is None:
            raise ApiError(
                400,
                f"No association is defined between {ft.name} and {tt.name}",
                context={"fromObjectId": [fid], "toObjectId": [tid]},
            )
        self.store.associate(ft.type_id, fid, tt.type_id, tid, [type_id])
        back = self.store.default_assoc_type(tt.type_id, ft.type_id)
        return [
            {
                "from": {"id": fid},
                "to": {"id": tid},
                "associationSpec": {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": type_id,
                },
            },
            {
                "from": {"id": tid},
                "to": {"id": fid},
                "associationSpec": {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": back,
                },
            },
        ]

    def _types_out(self, ids: list[int]) -> list[dict]:
        out = []
        for i in ids:
            at = self.store.assoc_type(i)
            item: dict[str, Any] = {"category": at.category if at else "USER_DEFINED", "typeId": i}
            if at and at.label:
                item["label"] = at.label
            out.append(item)
        return out

    def batch_create(self, req: Req, f: str, t: str) -> tuple[int, Any]:
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        inputs = req.inputs(MAX_ASSOC_BATCH)
        started = now_ms()
        results, errors = [], []
        with self.store.lock:
            for item in inputs:
                try:
                    if not isinstance(item, dict):
                        raise ApiError(400, f"Invalid association input: {item!r}")
                    fid, tid = _oid(item.get("from")), _oid(item.get("to"))
                    ids = self._specs(ft, tt, item.get("types"))
                    self._exists(ft, fid)
                    self._exists(tt, tid)
                    self.store.associate(ft.type_id, fid, tt.type_id, tid, ids)
                    results.append(self._pair(ft, fid, tt, tid, ids))
                except ApiError as exc:
                    errors.append(exc.record_error())
        return (207 if errors else 201), batch_body(results, errors, started)

    def batch_default(self, req: Req, f: str, t: str) -> tuple[int, Any]:
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        inputs = req.inputs(MAX_ASSOC_BATCH)
        started = now_ms()
        results, errors = [], []
        with self.store.lock:
            for item in inputs:
                try:
                    if not isinstance(item, dict):
                        raise ApiError(400, f"Invalid association input: {item!r}")
                    fid, tid = _oid(item.get("from")), _oid(item.get("to"))
                    self._exists(ft, fid)
                    self._exists(tt, tid)
                    results.extend(self._default(ft, fid, tt, tid))
                except ApiError as exc:
                    errors.append(exc.record_error())
        return 200, batch_body(results, errors, started)

    def batch_read(self, req: Req, f: str, t: str) -> tuple[int, Any]:
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        inputs = req.inputs(MAX_ASSOC_READ)
        started = now_ms()
        results, errors = [], []
        for item in inputs:
            fid = _oid(item)
            found = self.store.associated(ft.type_id, fid, tt.type_id)
            if not found:
                errors.append(
                    record_error(
                        f"No {tt.name} is associated with {ft.name} {fid}.",
                        OBJECT_NOT_FOUND,
                        {"fromObjectId": [fid]},
                    )
                )
                continue
            results.append(
                {
                    "from": {"id": fid},
                    "to": [
                        {"toObjectId": tid, "associationTypes": self._types_out(ids)}
                        for _, tid, ids in found
                    ],
                }
            )
        return (207 if errors else 200), batch_body(results, errors, started)

    def batch_archive(self, req: Req, f: str, t: str) -> tuple[int, Any]:
        """``batch/archive`` ("Remove associations"): every association between each input's
        ``from`` and each of its ``to`` records goes, all types, both directions; 204. The body
        is ``BatchInputPublicAssociationMultiArchive`` (associations v4 spec: ``from`` and a
        ``to`` list both required): a malformed input refuses the whole call before anything
        is removed. Records that do not exist, or are not associated, are skipped: the spec
        declares no per-input errors for this call (204, no body, is its only success)."""
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        pairs = []
        for item in req.inputs(MAX_ASSOC_BATCH):
            to = item.get("to") if isinstance(item, dict) else None
            if not isinstance(to, list):
                raise ApiError(400, f"Invalid association input: {item!r} ('to' must be a list)")
            fid = _oid(item.get("from"))
            pairs.extend((fid, _oid(ref)) for ref in to)
        with self.store.lock:
            for fid, tid in pairs:
                self.store.dissociate(ft.type_id, fid, tt.type_id, tid)
        return 204, None

    def batch_archive_labels(self, req: Req, f: str, t: str) -> tuple[int, Any]:
        """``batch/labels/archive``: remove the given association types between each pair."""
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        inputs = req.inputs(MAX_ASSOC_BATCH)
        with self.store.lock:
            for item in inputs:
                if not isinstance(item, dict):
                    raise ApiError(400, f"Invalid association input: {item!r}")
                fid, tid = _oid(item.get("from")), _oid(item.get("to"))
                ids = self._specs(ft, tt, item.get("types"))
                self.store.dissociate_types(ft.type_id, fid, tt.type_id, tid, ids)
        return 204, None

    def put_default(self, req: Req, f: str, fid: str, t: str, tid: str) -> tuple[int, Any]:
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        started = now_ms()
        with self.store.lock:
            self._exists(ft, fid)
            self._exists(tt, tid)
            return 200, batch_body(self._default(ft, fid, tt, tid), [], started)

    def put_labelled(self, req: Req, f: str, fid: str, t: str, tid: str) -> tuple[int, Any]:
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        with self.store.lock:
            ids = self._specs(ft, tt, req.body)
            self._exists(ft, fid)
            self._exists(tt, tid)
            self.store.associate(ft.type_id, fid, tt.type_id, tid, ids)
            return 201, self._pair(ft, fid, tt, tid, ids)

    def delete(self, req: Req, f: str, fid: str, t: str, tid: str) -> tuple[int, Any]:
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        self.store.dissociate(ft.type_id, fid, tt.type_id, tid)
        return 204, None

    def list(self, req: Req, f: str, fid: str, t: str) -> tuple[int, Any]:
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        found = self.store.associated(ft.type_id, fid, tt.type_id)
        return 200, {
            "results": [
                {"toObjectId": tid, "associationTypes": self._types_out(ids)}
                for _, tid, ids in found
            ]
        }


class SchemasApi:
    """``GET/POST /crm/v3/schemas`` and ``GET /crm/v3/schemas/{objectType}`` (also served under
    ``/crm-object-schemas/v3/schemas``, the path the official SDK uses)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def schema(self, ot: ObjectType) -> dict:
        portal = self.store.portal_id
        props = []
        for name, spec in ot.declared.items():
            props.append(
                {
                    "name": name,
                    "label": spec.get("label") or name,
                    "type": spec.get("type") or "string",
                    "fieldType": spec.get("fieldType") or "text",
                    "groupName": spec.get("groupName") or f"{ot.name}_information",
                    "description": spec.get("description") or "",
                    "options": [dict(o) for o in spec.get("options") or []],
                    "hasUniqueValue": bool(spec.get("hasUniqueValue")),
                }
            )
        assocs = [
            {
                "id": str(type_id),
                "fromObjectTypeId": ot.type_id,
                "toObjectTypeId": other.type_id,
                "name": f"{ot.name}_to_{other.name}",
            }
            for other in self.store.types()
            if (type_id := self.store.default_assoc_type(ot.type_id, other.type_id)) is not None
        ]
        primary = ot.primary or (
            ot.unique_properties[0] if ot.unique_properties else "hs_object_id"
        )
        return {
            "id": ot.type_id.split("-", 1)[-1],
            "objectTypeId": ot.type_id,
            "name": ot.name,
            "fullyQualifiedName": f"p{portal}_{ot.name}",
            "labels": {"singular": ot.singular, "plural": ot.plural},
            "primaryDisplayProperty": primary,
            "requiredProperties": list(ot.required),
            "searchableProperties": list(ot.unique_properties),
            "secondaryDisplayProperties": [],
            "properties": props,
            "associations": assocs,
            "createdAt": iso(ot.created_ms),
            "updatedAt": iso(ot.created_ms),
            "archived": False,
        }

    def list(self, req: Req) -> tuple[int, Any]:
        customs = [ot for ot in self.store.types() if ot.type_id.startswith("2-")]
        return 200, {"results": [self.schema(ot) for ot in customs]}

    def get(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self.store.resolve_type(t)
        if ot is None:
            raise ApiError(404, f"Unable to find object type {t}", OBJECT_NOT_FOUND)
        return 200, self.schema(ot)

    def create(self, req: Req) -> tuple[int, Any]:
        """A custom object with its properties and associations (glue/sandbox/schema.py)."""
        from .schema import define_schema

        body = req.obj()
        name = body.get("name")
        check_schema_name(name)
        for prop in body.get("properties") or []:
            if not isinstance(prop, dict):
                raise ApiError(400, f"Invalid property definition: {prop!r}")
            check_property_definition(prop, fields=("name", "label", "type"))
        with self.store.lock:
            if self.store.resolve_type(name) is not None:
                raise ApiError(
                    409, f"Object type with name {name!r} already exists", "OBJECT_ALREADY_EXISTS"
                )
            declared = {p.get("name") for p in body.get("properties") or [] if isinstance(p, dict)}
            missing = [p for p in body.get("requiredProperties") or [] if p not in declared]
            if missing:
                raise ApiError(400, f"Required properties are not defined: {missing}")
            ot = define_schema(self.store, self.store.new_schema_type_id(), body)
        return 201, self.schema(ot)

    def create_association(self, req: Req, t: str) -> tuple[int, Any]:
        """``POST /crm-object-schemas/v3/schemas/{objectType}/associations``: define the
        association between a custom object and another object."""
        body = req.obj()
        ft = self.api.type_of(str(body.get("fromObjectTypeId") or t))
        tt = self.api.type_of(str(body.get("toObjectTypeId") or ""))
        with self.store.lock:
            type_id = self.store.define_default(ft.type_id, tt.type_id)
        now = iso(now_ms())
        return 201, {
            "id": str(type_id),
            "fromObjectTypeId": ft.type_id,
            "toObjectTypeId": tt.type_id,
            "name": body.get("name") or f"{ft.name}_to_{tt.name}",
            "createdAt": now,
            "updatedAt": now,
        }
