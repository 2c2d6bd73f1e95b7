"""In-memory state of the HubSpot sandbox: object types, records, associations.

Everything here is guarded by one re-entrant lock (``Store.lock``); the API layer holds it across
a whole batch so a batch is applied atomically, as HubSpot does for one request.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from glue.clock import SYSTEM, Clock

CONTACTS = "0-1"
NOTES = "0-46"
BOOKINGS = "2-50158943"
EXAMS = "2-50158939"
DEFAULT_PORTAL_ID = 4242424
# Record ids start after this (the first record gets FIRST_ID + 1). The demo's in-process sandbox
# starts elsewhere (glue.demo.data.DEMO_FIRST_ID), so its ids never meet `mockbook sandbox`'s.
FIRST_ID = 10000
MAX_HISTORY = 45  # versions of a property kept (HubSpot keeps a bounded history)
MAX_SEARCH_LAG = 60.0  # seconds of record history kept for the simulated search index lag

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    """HubSpot's timestamp format: ISO-8601, milliseconds, ``Z``."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time_ms(value: str) -> int | None:
    """Epoch milliseconds of an ISO date or date-time string, else None."""
    text = value.strip()
    if not text or not text[0].isdigit() or "-" not in text:
        return None
    try:
        if _DATE_RE.match(text):
            dt = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(dt.timestamp() * 1000)


class Conflict(Exception):
    """A unique property value is already used by another record."""

    def __init__(self, prop: str, existing_id: str) -> None:
        super().__init__(f"{prop} already used by {existing_id}")
        self.prop = prop
        self.existing_id = existing_id


@dataclass
class ObjectType:
    type_id: str
    name: str
    unique_properties: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    singular: str = ""
    plural: str = ""
    declared: dict[str, dict] = field(default_factory=dict)
    created_ms: int = field(default_factory=now_ms)
    # strict: writes are checked against ``declared`` (glue/sandbox/schema.py); a type registered
    # by a test with ``register_object_type`` and no properties accepts any property.
    strict: bool = False
    groups: set[str] = field(default_factory=set)
    required: tuple[str, ...] = ()
    primary: str = ""

    @property
    def is_contact(self) -> bool:
        return self.type_id == CONTACTS

    @property
    def lastmodified_property(self) -> str:
        return "lastmodifieddate" if self.is_contact else "hs_lastmodifieddate"

    @property
    def default_properties(self) -> tuple[str, ...]:
        """Properties every read returns, as HubSpot does when none are asked for."""
        if self.is_contact:
            return (
                "createdate",
                "email",
                "firstname",
                "lastname",
                "hs_object_id",
                "lastmodifieddate",
            )
        return ("createdate", "hs_createdate", "hs_lastmodifieddate", "hs_object_id")


class _Associations(dict):
    """{(from type, from id, to type, to id): type ids}, with the keys of each (from type,
    from id) indexed, so a record's associations are found without a scan (an associations
    batch read asks for 1,000 records of a portal holding tens of thousands)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_from: dict[tuple[str, str], dict[tuple[str, str, str, str], None]] = {}

    def __setitem__(self, key: tuple[str, str, str, str], value: set[int]) -> None:
        super().__setitem__(key, value)
        self.by_from.setdefault((key[0], key[1]), {})[key] = None

    def setdefault(self, key: tuple[str, str, str, str], default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: tuple[str, str, str, str], *default: Any) -> Any:
        keys = self.by_from.get((key[0], key[1]))
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del self.by_from[(key[0], key[1])]
        return super().pop(key, *default)

    def of(self, from_type: str, from_id: str) -> list[tuple[str, str, str, str]]:
        return list(self.by_from.get((from_type, from_id), ()))


@dataclass
class Record:
    id: str
    type_id: str
    properties: dict[str, str]
    created_ms: int
    updated_ms: int
    archived: bool = False
    archived_ms: int | None = None
    # (wall-clock seconds, properties, archived) after each change: what search sees with a lag.
    versions: list[tuple[float, dict[str, str], bool]] = field(default_factory=list)
    # Every value each property had, oldest first: (epoch ms, value) — propertiesWithHistory.
    history: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    _entry: tuple[str, dict[str, str]] | None = field(default=None, repr=False, compare=False)

    @property
    def entry(self) -> tuple[str, dict[str, str]]:
        """(id, properties) as a search reads it, made once: a search of a portal of tens of
        thousands of records allocates nothing per record (allocations kept alive through a
        search make the collector sweep the whole store, a pause of its answer)."""
        if self._entry is None or self._entry[1] is not self.properties or (
                self._entry[0] != self.id):
            self._entry = (self.id, self.properties)
        return self._entry

    def remember(self, props: dict[str, str], ms: int) -> None:
        for name, value in props.items():
            past = self.history.setdefault(name, [])
            if not past or past[-1][1] != value:
                past.append((ms, value))
                del past[:-MAX_HISTORY]

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "properties": dict(self.properties),
            "archived": self.archived,
            "createdAt": iso(self.created_ms),
            "updatedAt": iso(self.updated_ms),
        }


@dataclass(frozen=True)
class AssocType:
    type_id: int
    category: str
    from_type: str
    to_type: str
    label: str | None = None


def _norm_unique(prop: str, value: str) -> str:
    return value.strip().lower() if prop == "email" else value


class Store:
    """Thread-safe in-memory CRM: types, records, unique indexes, associations."""

    def __init__(
        self, portal_id: int = DEFAULT_PORTAL_ID, first_id: int = FIRST_ID, clock: Clock = SYSTEM
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock  # record times and the search index's lag run on it
        self.portal_id = portal_id
        self.first_id = first_id
        self._types: dict[str, ObjectType] = {}
        self._assoc_types: dict[int, AssocType] = {}
        self._default_assoc: dict[tuple[str, str], int] = {}
        self._next_assoc_type = 1000
        self._inverse: dict[int, int] = {}  # a paired label's type id -> its inverse's
        self._next_schema_id = 50200000
        self._next_label_id = 2000
        # Types and association types are defined by glue/sandbox/schema.py (the empty portal,
        # the ready portal, the schemas/properties/labels endpoints).
        # Called (under the lock) after each change of a record: (kind, type, record, properties)
        # with kind creation | propertyChange (the changed properties) | deletion | merge
        # ({"mergedObjectIds": [...]}). The webhook sender (glue/sandbox/webhooks.py) listens.
        self.listeners: list[Callable[[str, ObjectType, Record, dict], None]] = []
        self.clear()

    # ---- types ---------------------------------------------------------------------------
    def register_type(
        self,
        type_id: str,
        name: str,
        unique_properties=(),
        *,
        aliases=(),
        singular: str = "",
        plural: str = "",
        declared: dict[str, dict] | None = None,
        strict: bool = False,
    ) -> ObjectType:
        with self.lock:
            ot = ObjectType(
                type_id,
                name,
                tuple(unique_properties),
                tuple(aliases),
                singular or name,
                plural or name,
                dict(declared or {}),
                strict=strict,
            )
            for prop in ot.unique_properties:
                ot.declared.setdefault(
                    prop, {"name": prop, "type": "string", "hasUniqueValue": True}
                )
            self._types[type_id] = ot
            return ot

    def new_schema_type_id(self) -> str:
        with self.lock:
            self._next_schema_id += 1
            return f"2-{self._next_schema_id}"

    def resolve_type(self, key: str) -> ObjectType | None:
        """Find a type by id (``2-123``), name, alias or fully qualified name (``p123_name``)."""
        with self.lock:
            if key in self._types:
                return self._types[key]
            low = key.lower()
            prefix = f"p{self.portal_id}_"
            if low.startswith(prefix):
                low = low[len(prefix) :]
            for ot in self._types.values():
                if low == ot.name.lower() or low in ot.aliases:
                    return ot
            return None

    def types(self) -> list[ObjectType]:
        with self.lock:
            return list(self._types.values())

    # ---- records -------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget every record and association (types and association types stay)."""
        with self.lock:
            self._records: dict[str, dict[str, Record]] = {}
            self._unique: dict[tuple[str, str, str], str] = {}
            self._assoc = _Associations()
            self._merged: dict[tuple[str, str], str] = {}  # (type, merged-away id) -> survivor
            self._next_id = self.first_id

    def _table(self, type_id: str) -> dict[str, Record]:
        return self._records.setdefault(type_id, {})

    def get(self, ot: ObjectType, record_id: str, *, archived: bool = False) -> Record | None:
        with self.lock:
            rec = self._table(ot.type_id).get(str(record_id))
            if rec is None or rec.archived != archived:
                return None
            return rec

    def find_unique(self, ot: ObjectType, prop: str, value: str) -> Record | None:
        with self.lock:
            if prop == "hs_object_id":
                return self.get(ot, value)
            rid = self._unique.get((ot.type_id, prop, _norm_unique(prop, value)))
            return None if rid is None else self._table(ot.type_id).get(rid)

    def unique_conflict(
        self, ot: ObjectType, props: dict[str, str], exclude_id: str | None = None
    ) -> Conflict | None:
        with self.lock:
            for prop in ot.unique_properties:
                value = props.get(prop)
                if not value:
                    continue
                rid = self._unique.get((ot.type_id, prop, _norm_unique(prop, value)))
                if rid is not None and rid != exclude_id:
                    return Conflict(prop, rid)
            return None

    def records(self, ot: ObjectType, *, include_archived: bool = False) -> list[Record]:
        with self.lock:
            recs = self._table(ot.type_id).values()
            return [r for r in recs if include_archived or not r.archived]

    def create(
        self,
        ot: ObjectType,
        props: dict[str, str],
        *,
        at_ms: int | None = None,
        visible_at: float | None = None,
    ) -> Record:
        with self.lock:
            conflict = self.unique_conflict(ot, props)
            if conflict:
                raise conflict
            self._next_id += 1
            rid = str(self._next_id)
            ms = at_ms if at_ms is not None else self.now_ms()
            rec = Record(rid, ot.type_id, {}, ms, ms)
            rec.properties.update({k: v for k, v in props.items()})
            stamp = iso(ms)
            rec.properties.update({"hs_object_id": rid, "createdate": stamp})
            if ot.is_contact:
                rec.properties["lastmodifieddate"] = stamp
            else:
                rec.properties.update({"hs_createdate": stamp, "hs_lastmodifieddate": stamp})
            rec.remember(rec.properties, ms)
            self._table(ot.type_id)[rid] = rec
            self._index(ot, rec)
            self._snapshot(rec, visible_at)
            self.emit("creation", ot, rec, rec.properties)
            return rec

    def update(
        self, ot: ObjectType, rec: Record, props: dict[str, str], *, at_ms: int | None = None
    ) -> Record:
        with self.lock:
            merged = {**rec.properties, **props}
            conflict = self.unique_conflict(ot, merged, exclude_id=rec.id)
            if conflict:
                raise conflict
            self._unindex(ot, rec)
            changed = {k: v for k, v in props.items() if rec.properties.get(k) != v}
            rec.properties.update(props)
            ms = max(at_ms if at_ms is not None else self.now_ms(), rec.updated_ms)
            rec.updated_ms = ms
            rec.properties[ot.lastmodified_property] = iso(ms)
            rec.properties["hs_object_id"] = rec.id
            rec.remember(props, ms)
            self._index(ot, rec)
            self._snapshot(rec)
            if changed:
                self.emit("propertyChange", ot, rec, changed)
            return rec

    def archive(self, ot: ObjectType, rec: Record, *, at_ms: int | None = None) -> None:
        """Archive (delete) ``rec``; ``at_ms``: when (its ``archivedAt``; default now, never
        before its last change), as ``update`` takes it."""
        with self.lock:
            if rec.archived:
                return
            self._unindex(ot, rec)
            rec.archived = True
            rec.archived_ms = max(at_ms if at_ms is not None else self.now_ms(), rec.updated_ms)
            self._snapshot(rec)
            self.emit("deletion", ot, rec, {})

    def emit(self, kind: str, ot: ObjectType, rec: Record, props: dict) -> None:
        """Tell the listeners about a change (see ``listeners``)."""
        with self.lock:
            for listener in list(self.listeners):
                listener(kind, ot, rec, dict(props))

    def _index(self, ot: ObjectType, rec: Record) -> None:
        for prop in ot.unique_properties:
            value = rec.properties.get(prop)
            if value:
                self._unique[(ot.type_id, prop, _norm_unique(prop, value))] = rec.id

    def _unindex(self, ot: ObjectType, rec: Record) -> None:
        for prop in ot.unique_properties:
            value = rec.properties.get(prop)
            if value:
                self._unique.pop((ot.type_id, prop, _norm_unique(prop, value)), None)

    def now_ms(self) -> int:
        return int(self.clock.time() * 1000)

    def _snapshot(self, rec: Record, visible_at: float | None = None) -> None:
        at = self.clock.time() if visible_at is None else visible_at
        rec.versions.append((at, dict(rec.properties), rec.archived))
        # Keep what a search lag of up to MAX_SEARCH_LAG seconds may still need to see.
        horizon = self.clock.time() - MAX_SEARCH_LAG
        while len(rec.versions) > 1 and rec.versions[1][0] <= horizon:
            del rec.versions[0]

    def search_view(self, ot: ObjectType, lag: float) -> list[tuple[str, dict[str, str]]]:
        """(id, properties) of live records as the search index sees them ``lag`` s late.

        HubSpot's CRM search endpoints read a search index, not the records: a write shows in
        search results only some seconds later, while reads by id see it at once (CRM search,
        https://developers.hubspot.com/docs/api/crm/search; the pull's overlap window,
        glue/sync/pull.py, exists for it). ``mockbook sandbox --search-lag`` sets ``lag``."""
        lag = min(lag, MAX_SEARCH_LAG)
        with self.lock:
            if lag <= 0:
                # not copied: the search only reads them (a portal of 40,000 records is
                # searched several times a second by an import)
                return [rec.entry for rec in self._table(ot.type_id).values() if not rec.archived]
            out = []
            cutoff = self.clock.time() - lag
            for rec in self._table(ot.type_id).values():
                seen = [v for v in rec.versions if v[0] <= cutoff]
                if seen and not seen[-1][2]:
                    out.append((rec.id, dict(seen[-1][1])))
            return out

    # ---- associations --------------------------------------------------------------------
    def define_default(
        self, from_type: str, to_type: str, fwd_id: int | None = None, back_id: int | None = None
    ) -> int:
        """Define the default (unlabelled, HUBSPOT_DEFINED) association of a pair, both ways
        (idempotent); returns the forward type id."""
        with self.lock:
            if (from_type, to_type) in self._default_assoc:
                return self._default_assoc[(from_type, to_type)]
            if fwd_id is None:
                self._next_assoc_type += 2
                fwd_id, back_id = self._next_assoc_type, self._next_assoc_type + 1
            back_id = fwd_id if back_id is None else back_id
            self._default_assoc[(from_type, to_type)] = fwd_id
            self._default_assoc[(to_type, from_type)] = back_id
            self._assoc_types[fwd_id] = AssocType(fwd_id, "HUBSPOT_DEFINED", from_type, to_type)
            self._assoc_types[back_id] = AssocType(back_id, "HUBSPOT_DEFINED", to_type, from_type)
            return fwd_id

    def default_assoc_type(self, from_type: str, to_type: str) -> int | None:
        """The default association type id of a pair, None when the pair has no association
        definition (HubSpot refuses to associate such objects)."""
        with self.lock:
            return self._default_assoc.get((from_type, to_type))

    def register_assoc_type(
        self,
        from_type: str,
        to_type: str,
        type_id: int,
        category: str = "USER_DEFINED",
        label: str | None = None,
        *,
        inverse: tuple[int, str | None] | None = None,
    ) -> None:
        """Define an association type (and, with ``inverse`` = (id, label), its other
        direction)."""
        with self.lock:
            self._assoc_types[type_id] = AssocType(type_id, category, from_type, to_type, label)
            if inverse:
                self._assoc_types[inverse[0]] = AssocType(
                    inverse[0], category, to_type, from_type, inverse[1]
                )
                self._inverse[type_id] = inverse[0]
                self._inverse[inverse[0]] = type_id

    def new_label(
        self, from_type: str, to_type: str, label: str, inverse: tuple[int, str] | None
    ) -> list[AssocType]:
        """A new labelled type (ids chosen here, as HubSpot does), with its inverse."""
        with self.lock:
            self._next_label_id += 2
            fwd = self._next_label_id
            inv = (fwd + 1, inverse[1]) if inverse else None
            self.register_assoc_type(from_type, to_type, fwd, "USER_DEFINED", label, inverse=inv)
            out = [self._assoc_types[fwd]]
            if inv:
                out.append(self._assoc_types[inv[0]])
            return out

    def assoc_types(self, from_type: str, to_type: str) -> list[AssocType]:
        with self.lock:
            return sorted(
                (
                    a
                    for a in self._assoc_types.values()
                    if a.from_type == from_type and a.to_type == to_type
                ),
                key=lambda a: a.type_id,
            )

    def assoc_type(self, type_id: int) -> AssocType | None:
        with self.lock:
            return self._assoc_types.get(type_id)

    def register_assoc_pair(
        self,
        from_type: str,
        to_type: str,
        type_id: int,
        inverse_type_id: int,
        label: str | None = None,
        inverse_label: str | None = None,
    ) -> None:
        """A paired USER_DEFINED label (HubSpot's ``inverseLabel``): associating with
        ``type_id`` one way shows ``inverse_type_id`` the other way, so an association between
        two records of one type keeps its direction (exam -> prerequisite exam)."""
        self.register_assoc_type(
            from_type,
            to_type,
            type_id,
            "USER_DEFINED",
            label,
            inverse=(inverse_type_id, inverse_label),
        )

    def _reverse_type(self, from_type: str, to_type: str, type_id: int) -> int:
        if self._default_assoc.get((from_type, to_type)) == type_id:
            return self._default_assoc.get((to_type, from_type), type_id)
        return self._inverse.get(type_id, type_id)

    def dissociate_types(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: list[int]
    ) -> None:
        """Remove some association types between two records (both directions); the pair is
        gone when no type is left."""
        with self.lock:
            fwd = self._assoc.get((from_type, from_id, to_type, to_id), set())
            back = self._assoc.get((to_type, to_id, from_type, from_id), set())
            for tid in type_ids:
                fwd.discard(tid)
                back.discard(self._reverse_type(from_type, to_type, tid))
            if not fwd:
                self._assoc.pop((from_type, from_id, to_type, to_id), None)
            if not back:
                self._assoc.pop((to_type, to_id, from_type, from_id), None)

    # ---- merges --------------------------------------------------------------------------
    def merge(self, ot: ObjectType, primary: Record, other: Record) -> Record:
        """Merge ``other`` into ``primary`` as HubSpot merges contacts now: "a new record with a
        new ID will be created for the resulting merged record, with both records merged into
        the new one ... both of the previous IDs will point to the resulting merged record"
        (https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies).
        The new record takes the primary's values (a blank one takes the other's, each with its
        history), lists both old ids (and the ids merged into them before) in
        ``hs_merged_object_ids``, and takes over both records' associations; the two old
        records disappear, their ids answering reads with the new one (``merged_into``)."""
        with self.lock:
            merged_ids = [
                i
                for i in [
                    *(primary.properties.get("hs_merged_object_ids") or "").split(";"),
                    primary.id,
                    other.id,
                    *(other.properties.get("hs_merged_object_ids") or "").split(";"),
                ]
                if i
            ]
            system = (
                "hs_object_id",
                "hs_merged_object_ids",
                "createdate",
                "hs_createdate",
                ot.lastmodified_property,
            )
            self._next_id += 1
            rid = str(self._next_id)
            ms = self.now_ms()
            rec = Record(rid, ot.type_id, {}, ms, ms)
            for source, keep in (
                (primary, lambda k, v: True),
                (
                    other,
                    lambda k, v: (
                        v not in (None, "")
                        and not rec.properties.get(k)
                        and k not in ot.unique_properties
                    ),
                ),
            ):
                for k, v in source.properties.items():
                    if k not in system and keep(k, v):
                        rec.properties[k] = v
                        rec.history[k] = list(source.history.get(k) or [(ms, v)])
            stamp = iso(ms)
            rec.properties.update(
                {
                    "hs_object_id": rid,
                    "hs_merged_object_ids": ";".join(dict.fromkeys(merged_ids)),
                    "createdate": stamp,
                    ot.lastmodified_property: stamp,
                }
            )
            if not ot.is_contact:
                rec.properties["hs_createdate"] = stamp
            rec.remember(rec.properties, ms)
            gone = (primary.id, other.id)
            for old in (primary, other):
                self._unindex(ot, old)
                del self._table(ot.type_id)[old.id]
            self._table(ot.type_id)[rid] = rec
            self._index(ot, rec)
            # The associations of both (the primary's first), none between the two old records.
            for old in gone:
                for (ft, fid, tt, tid), types in list(self._assoc.items()):
                    if ft == ot.type_id and fid == old:
                        self._assoc.pop((ft, fid, tt, tid), None)
                        self._assoc.pop((tt, tid, ft, fid), None)
                        if types and not (tt == ot.type_id and tid in gone):
                            self.associate(ft, rid, tt, tid, sorted(types))
            for key, survivor in list(self._merged.items()):
                if survivor in gone:
                    self._merged[key] = rid
            for old in gone:
                self._merged[(ot.type_id, old)] = rid
            self._snapshot(rec)
            # HubSpot sends a `contact.merge` event to webhook subscribers (primaryObjectId,
            # mergedObjectIds, newObjectId: "the Id of the object that was created from the
            # result of the merge", https://developers.hubspot.com/changelog/new-subscription-types-for-webhooks).
            self.emit(
                "merge", ot, rec, {"primaryObjectId": primary.id, "mergedObjectIds": [other.id]}
            )
            return rec

    def merged_into(self, ot: ObjectType, record_id: str) -> Record | None:
        """The record a merged-away id now answers with, or None."""
        with self.lock:
            survivor = self._merged.get((ot.type_id, str(record_id)))
            return None if survivor is None else self.get(ot, survivor)

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: list[int]
    ) -> None:
        """Add association types between two records, in both directions (idempotent)."""
        with self.lock:
            fwd = self._assoc.setdefault((from_type, from_id, to_type, to_id), set())
            back = self._assoc.setdefault((to_type, to_id, from_type, from_id), set())
            for tid in type_ids:
                fwd.add(tid)
                back.add(self._reverse_type(from_type, to_type, tid))

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        with self.lock:
            self._assoc.pop((from_type, from_id, to_type, to_id), None)
            self._assoc.pop((to_type, to_id, from_type, from_id), None)

    def associated(
        self, from_type: str, from_id: str, to_type: str | None = None
    ) -> list[tuple[str, str, list[int]]]:
        """(to_type, to_id, sorted type ids) for every association of one record."""
        with self.lock:
            out = []
            for key in self._assoc.of(from_type, from_id):
                _, _, tt, tid = key
                types = self._assoc[key]
                if types and to_type in (None, tt):
                    out.append((tt, tid, sorted(types)))
            out.sort(key=lambda x: (x[0], int(x[1]) if x[1].isdigit() else 0, x[1]))
            return out
