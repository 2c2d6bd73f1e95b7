"""The sandbox's properties API (``/crm/v3/properties/{objectType}`` and its groups) and the
association labels API (``/crm/v4/associations/{from}/{to}/labels``): what
`mockbook hubspot setup` calls to create a portal's properties and labels.
https://developers.hubspot.com/docs/api/crm/properties and
https://developers.hubspot.com/docs/api/crm/associations/v4
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import OBJECT_NOT_FOUND, ApiError, Req
from .rules import check_property_definition
from .schema import Invalid, normalise, prop_def
from .store import ObjectType, iso, now_ms

if TYPE_CHECKING:
    from .api import Api

# The field types each property type takes; the properties API checks the pair on create and on
# update ("When creating or updating properties, both type and fieldType values are required").
# https://developers.hubspot.com/docs/api/crm/properties#property-type-and-fieldtype-values
FIELD_TYPES_OF = {
    "bool": ("booleancheckbox", "calculation_equation"),
    "enumeration": ("booleancheckbox", "checkbox", "radio", "select", "calculation_equation"),
    "date": ("date",),
    "datetime": ("date",),
    "string": ("file", "text", "textarea", "calculation_equation", "html", "phonenumber"),
    "number": ("number", "calculation_equation"),
}


# ---- the properties API ----------------------------------------------------------------------
class PropertiesApi:
    """``/crm/v3/properties/{objectType}`` (list, read, create, update) and its ``/groups``."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def _type(self, t: str) -> ObjectType:
        ot = self.api.type_of(t)
        if ot.declared is None:
            ot.declared = {}
        return ot

    @staticmethod
    def _out(spec: dict[str, Any]) -> dict[str, Any]:
        out = dict(spec)
        out["options"] = [dict(o) for o in spec.get("options") or []]
        out.setdefault("createdAt", iso(now_ms()))
        return out

    def list(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self._type(t)
        assert ot.declared is not None
        return 200, {"results": [self._out(p) for p in ot.declared.values()]}

    def get(self, req: Req, t: str, name: str) -> tuple[int, Any]:
        ot = self._type(t)
        assert ot.declared is not None
        if name not in ot.declared:
            raise ApiError(
                404, f"Unable to find property {name} for object type {ot.name}", OBJECT_NOT_FOUND
            )
        return 200, self._out(ot.declared[name])

    def create(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self._type(t)
        body = req.obj()
        check_property_definition(
            body, fields=("name", "label", "type", "fieldType", "groupName")
        )
        name, kind = str(body["name"]), str(body["type"])
        if kind == "enumeration" and not body.get("options"):
            raise ApiError(400, f"Enumeration property {name!r} needs options")
        with self.store.lock:
            assert ot.declared is not None
            if name in ot.declared:
                raise ApiError(
                    409, f"Property named '{name}' already exists.", "CONFLICT", {"name": [name]}
                )
            if body["groupName"] not in ot.groups:
                raise ApiError(
                    400,
                    f"Property group {body['groupName']!r} does not exist for "
                    f"object type {ot.name}",
                )
            spec = prop_def(
                name,
                kind,
                label=body.get("label"),
                options=body.get("options") or (),
                unique=bool(body.get("hasUniqueValue")),
                group=body["groupName"],
            )
            spec["fieldType"] = body["fieldType"]
            ot.declared[name] = spec
            if spec["hasUniqueValue"] and name not in ot.unique_properties:
                ot.unique_properties = (*ot.unique_properties, name)
        return 201, self._out(spec)

    def update(self, req: Req, t: str, name: str) -> tuple[int, Any]:
        ot = self._type(t)
        body = req.obj()
        with self.store.lock:
            assert ot.declared is not None
            if name not in ot.declared:
                raise ApiError(404, f"Unable to find property {name}", OBJECT_NOT_FOUND)
            spec = ot.declared[name]
            check_property_definition(
                {
                    "type": body.get("type", spec.get("type")),
                    "fieldType": body.get("fieldType", spec.get("fieldType")),
                },
                fields=(),
            )
            new = dict(spec)
            if "options" in body:
                new["options"] = prop_def(name, options=body["options"] or ())["options"]
            for key in ("label", "description", "groupName", "type", "fieldType"):
                if key in body:
                    new[key] = body[key]
            if (new["type"], new["fieldType"]) != (spec["type"], spec["fieldType"]):
                self._retype(ot, name, new)
            spec.update(new)
        return 200, self._out(spec)

    def _retype(self, ot: ObjectType, name: str, new: dict[str, Any]) -> None:
        """A change of type or field type: a valid pair, and every value the records hold must
        be a value of the new type, converted (a date's epoch milliseconds read back as
        YYYY-MM-DD); else 400 and nothing changes. HubSpot allows a type change "for certain
        field types" (https://knowledge.hubspot.com/properties/property-field-types-in-hubspot);
        the sandbox allows it where the values convert."""
        kind, field_type = new["type"], new["fieldType"]
        if field_type not in FIELD_TYPES_OF.get(kind, ()):
            raise ApiError(
                400,
                f"Property {name}: fieldType {field_type!r} is not valid for type {kind!r}",
                context={"propertyName": [name]},
            )
        if kind == "enumeration" and not new.get("options"):
            raise ApiError(400, f"Enumeration property {name!r} needs options")
        converted, bad = {}, []
        for rec in self.store.records(ot):
            value = rec.properties.get(name)
            if not value:
                continue
            try:
                converted[rec.id] = (rec, normalise(name, new, value))
            except Invalid as exc:
                bad.append(f'"{value}" (object {rec.id}): {exc.message}')
        if bad:
            raise ApiError(
                400,
                f"Cannot change property {name} to type {kind}: {len(bad)} existing value(s) "
                f"cannot be converted, e.g. {bad[0]}",
                context={"propertyName": [name]},
            )
        for rec, value in converted.values():
            rec.properties[name] = value

    def groups(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self._type(t)
        return 200, {"results": [_group(g) for g in sorted(ot.groups)]}

    def create_group(self, req: Req, t: str) -> tuple[int, Any]:
        ot = self._type(t)
        body = req.obj()
        name = body.get("name")
        if not name or not body.get("label"):
            raise ApiError(400, "A property group needs a name and a label")
        with self.store.lock:
            if name in ot.groups:
                raise ApiError(409, f"Property group {name!r} already exists", "CONFLICT")
            ot.groups.add(str(name))
        return 201, _group(str(name), body.get("label"))


def _group(name: str, label: str | None = None) -> dict[str, Any]:
    return {"name": name, "label": label or name, "displayOrder": -1, "archived": False}


# ---- association labels (associations v4 schema API) ------------------------------------------
class LabelsApi:
    """``GET/POST /crm/v4/associations/{from}/{to}/labels``: the association types defined
    between two object types; creating a label defines a USER_DEFINED type (and its inverse).
    https://developers.hubspot.com/docs/api/crm/associations/v4"""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def list(self, req: Req, f: str, t: str) -> tuple[int, Any]:
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        return 200, {
            "results": [self._out(a) for a in self.store.assoc_types(ft.type_id, tt.type_id)]
        }

    @staticmethod
    def _out(at: Any) -> dict[str, Any]:
        """An AssociationSpecWithLabel: ``label`` is an optional string (HubSpot's Associations
        Schema v4 spec: required are only ``category`` and ``typeId``), so an unlabelled type
        has none, never ``null``."""
        out: dict[str, Any] = {"category": at.category, "typeId": at.type_id}
        if at.label:
            out["label"] = at.label
        return out

    def create(self, req: Req, f: str, t: str) -> tuple[int, Any]:
        ft, tt = self.api.type_of(f), self.api.type_of(t)
        body = req.obj()
        label, name = body.get("label"), body.get("name")
        if not isinstance(label, str) or not label or not isinstance(name, str) or not name:
            raise ApiError(400, "An association label needs a 'label' and a 'name'")
        with self.store.lock:
            for at in self.store.assoc_types(ft.type_id, tt.type_id):
                if at.label == label:
                    raise ApiError(409, f"Association label {label!r} already exists", "CONFLICT")
            if ft.type_id == tt.type_id and not body.get("inverseLabel"):
                inverse = None
            else:
                inverse = (0, body.get("inverseLabel") or label)
            created = self.store.new_label(ft.type_id, tt.type_id, label, inverse)
        return 200, {"results": [self._out(a) for a in created]}
