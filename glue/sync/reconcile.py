"""`mockbook reconcile`: prove Postgres and HubSpot agree, or show where they do not.

Every exam, contact and booking is read on both sides (HubSpot through the pull's keyset search,
Postgres through ``reconcile_state``) and compared field by field, after putting both values in
one form (dates as days, date-times as epoch milliseconds, numbers as integers, blanks as none).
Per entity the report lists the records missing in HubSpot, those missing in Postgres, those
whose fields differ (with both values), and a booking's associations HubSpot has and Postgres
does not (``extra_associations``).

``--repair`` queues the fixes; who wins depends on who owns the data:
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from glue.config import Settings
from glue.db.database import Database
from glue.hubspot import wire
from glue.hubspot.catalogue import MERGED_IDS, SYNCED, SYNCED_PROPS, WAITLIST_CODE_PREFIX
from glue.hubspot.client import CONTACTS, HubSpotClient
from glue.hubspot.reads import HubSpotReader
from glue.sync.pull import CREDIT_FIELDS, Progress, Puller, Target, targets, to_ms

# How it works (the detail of the module docstring):
#
# - bookings: Postgres. Differing or missing in HubSpot: re-queued for the push
#   (``requeue_records``). A booking only HubSpot has is imported (``apply_pulled_bookings``:
#   matched by code or idempotency key, never duplicated); nothing is ever deleted in HubSpot.
# Associations are compared too: each booking with its contact and its exam (missing ones
# re-queue the booking: the push associates it again), and each exam's prerequisites with its
# exam->exam associations of the prerequisite type. A booking associated with a contact or an
# exam other than its own (an admin's slip, a second contact or exam) is an extra association:
# the booking is listed as different (``association:contact`` / ``association:exam``, so it
# counts once in the drift) and in ``extra_associations``; ``--repair`` removes those
# associations in HubSpot at once (``HubSpotClient.dissociate``, v4 ``batch/archive``: the push
# only ever adds associations). Extras are judged only where Postgres knows the booking's contact
# or exam; the contact a booking's contact was merged into in HubSpot is never an extra.
#
# - contacts: Postgres for the five credit balances (re-queued: the push merges HubSpot's changes
#   before it writes them, so an admin's edit not pulled yet is kept), HubSpot
#   for the profile fields (email, names, student_id, ndecc_exam_date: applied as pulled, balances
#   untouched; a field empty in HubSpot is unknown there, reported and never copied over a local
#   value). A contact only HubSpot has is imported; one only Postgres has is re-queued (the
#   push matches or creates it by email).
# - exams: HubSpot for every field it owns (applied as pulled: capacity still never below the
#   booked seats; capacity and prerequisites changed locally and not pushed yet are kept — the push
#   writes them); Postgres for total_bookings (re-queued). An exam HubSpot archived or no longer
#   has is deactivated locally. An imported booking's exam is re-queued too (its count moved).
#
# The number of drifting records is saved in sync_metadata ('reconcile', cursor ``{"drift": n}``)
# for ``mockbook status``. Run ``mockbook pull`` first (``mockbook run`` does).

RECONCILE_ACTOR = "hubspot:reconcile"
SHOWN = 20  # records listed per kind in the table (JSON lists them all)

EXAMS_TABLE, CONTACTS_TABLE, BOOKINGS_TABLE = (
    SYNCED[k].table for k in ("exams", "contacts", "bookings")
)
# What is compared, from the catalogue: the fields HubSpot owns of an exam and of a contact
# (applied from HubSpot), the contact's credits (CREDIT_FIELDS, re-queued), and each booking
# property with its hubspot_bookings column as the push sends them, less the booking code (the
# unique property the two sides are matched on).
EXAM_FIELDS = SYNCED["exams"].names(owner="hubspot", reads="reconcile")
CONTACT_PROFILE = SYNCED["contacts"].names(owner="hubspot", reads="reconcile")
BOOKING_FIELDS = {p.name: p.local for p in SYNCED["bookings"].props if not p.unique}
DATE_FIELDS = {p.name for p in SYNCED_PROPS if p.type == "date"}
TIME_FIELDS = {p.name for p in SYNCED_PROPS if p.type == "datetime"}
INT_FIELDS = {p.name for p in SYNCED_PROPS if p.type == "number"}


# ---- one form for both sides ---------------------------------------------------------------------
def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> Any:
    text = _text(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return text  # malformed: compared (and shown) as it is
    return int(number) if number.is_integer() else text


def _day(value: Any) -> Any:
    text = _text(value)
    if text is None:
        return None
    if len(text) == 10 and text[4] == "-":
        return text
    ms = to_ms(text)
    if ms is None:
        return text
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def _ids(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = _text(value)
    if text is None:
        return []
    if text.startswith("["):
        import json

        try:
            return [str(v).strip() for v in json.loads(text) if str(v).strip()]
        except ValueError:
            return [text]
    return [p.strip() for p in text.replace(",", ";").split(";") if p.strip()]


def _exam_active(value: Any, activation: Any) -> Any:
    text = (_text(value) or "").lower() or None
    if text == "active":
        return "true"
    if text == "scheduled":
        at = to_ms(_text(activation))
        if at is not None and at <= time.time() * 1000:
            return "true"
    return text


def norm(field_name: str, value: Any) -> Any:
    if field_name in INT_FIELDS:
        return _int(value)
    if field_name in DATE_FIELDS:
        return _day(value)
    if field_name in TIME_FIELDS:
        return to_ms(_text(value))
    if field_name == "prerequisite_exam_ids":
        return _ids(value)
    if field_name == "mock_set":
        text = _text(value)
        return text.upper() if text else None
    if field_name == "email":
        text = _text(value)
        return text.lower() if text else None
    return _text(value)


def _booking_link(state: dict[str, Any], kind: str) -> str | None:
    """The HubSpot id of a booking's contact or exam as Postgres has it (None: not known)."""
    if kind == "contact":
        value = state.get("associated_contact_id") or state.get("contact_hubspot_id")
    else:
        value = state.get("associated_mock_exam")
    return _text(value)


def _shown(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


# ---- the report ----------------------------------------------------------------------------------
@dataclass
class EntityReport:
    compared: int = 0
    missing_in_hubspot: list[dict[str, Any]] = field(default_factory=list)
    missing_in_postgres: list[dict[str, Any]] = field(default_factory=list)
    different: list[dict[str, Any]] = field(default_factory=list)
    # bookings only: {key, record_id, hubspot_id, association, postgres, extra: [ids]}; each
    # booking listed here is in `different` too (that is what the drift counts)
    extra_associations: list[dict[str, Any]] = field(default_factory=list)
    # records whose difference is only what their outbox rows still to push write: lag, not
    # drift (each item as listed above, with "kind": missing_in_hubspot | different)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    repaired: dict[str, int] = field(default_factory=dict)
    left: int | None = None  # after a repair: the drifting records no fix covers

    @property
    def drift(self) -> int:
        return len(self.missing_in_hubspot) + len(self.missing_in_postgres) + len(self.different)

    def as_dict(self) -> dict[str, Any]:
        out = {
            "compared": self.compared,
            "drift": self.drift,
            "waiting": len(self.waiting),
            "missing_in_hubspot": self.missing_in_hubspot,
            "missing_in_postgres": self.missing_in_postgres,
            "different": self.different,
            "extra_associations": self.extra_associations,
            "waiting_for_push": self.waiting,
            "repaired": self.repaired,
        }
        return out | ({"left": self.left} if self.left is not None else {})


@dataclass
class ReconcileReport:
    entities: dict[str, EntityReport] = field(default_factory=dict)
    repair: bool = False
    seconds: float = 0.0
    # what no repair fixes and admins must decide (time problems, bookings an exam's move left
    # against a rule, legacy data): not drift, listed for the reader
    data_problems: list[str] = field(default_factory=list)

    @property
    def drift(self) -> int:
        return sum(e.drift for e in self.entities.values())

    @property
    def waiting(self) -> int:
        return sum(len(e.waiting) for e in self.entities.values())

    @property
    def left(self) -> int:
        """What a push will not fix: the drift, or after a repair what no fix covers."""
        return sum(e.drift if e.left is None else e.left for e in self.entities.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "drift": self.drift,
            "waiting": self.waiting,
            "repair": self.repair,
            **({"left": self.left} if self.repair else {}),
            "entities": {k: v.as_dict() for k, v in self.entities.items()},
            "data_problems": self.data_problems,
            "seconds": self.seconds,
        }


def _diff(pairs: Iterable[tuple[str, Any, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, local, remote in pairs:
        a, b = norm(name, local), norm(name, remote)
        if a != b:
            out[name] = {"postgres": _shown(local), "hubspot": _shown(remote)}
    return out


# ---- an exam on both sides ----------------------------------------------------------------------
def _compare_exam(
    row: dict[str, Any],
    rec: dict[str, Any],
    prerequisites: list[str],
    report: EntityReport,
    fixes: dict[str, Any],
) -> None:
    """An exam both sides have: the fields HubSpot owns (applied from HubSpot), its
    prerequisites (HubSpot's associations, applied), and total_bookings (Postgres', pushed
    again) compared; a difference is reported with its fix."""
    hid, state, props = rec["id"], row["state"], rec["properties"]
    fields = _diff((f, state.get(f), props.get(f)) for f in EXAM_FIELDS if f != "is_active")
    fields.update(_activity_diff(state, props))
    owned = bool(fields)
    mine = sorted(str(x) for x in state.get("prerequisite_exam_ids") or [])
    theirs = sorted(prerequisites)
    if mine != theirs:
        fields["prerequisite_exam_ids"] = {"postgres": mine, "hubspot": theirs}
        fixes["prerequisites"][hid] = theirs
    total = _diff(
        [("total_bookings", state.get("total_bookings") or 0, props.get("total_bookings") or 0)]
    )
    fields.update(total)
    if not fields:
        return
    report.different.append({"key": hid, "record_id": str(row["record_id"]), "fields": fields})
    if owned:
        fixes["apply"].append(rec)
    if total:
        fixes["requeue"].append(row["record_id"])


def _activity_diff(state: dict[str, Any], props: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``is_active`` when the two sides differ on whether the exam is active now (a scheduled
    activation past its time counts as active)."""
    here = _exam_active(state.get("is_active"), state.get("scheduled_activation_datetime"))
    there = _exam_active(props.get("is_active"), props.get("scheduled_activation_datetime"))
    if here == there:
        return {}
    return {"is_active": {"postgres": state.get("is_active"), "hubspot": props.get("is_active")}}


# ---- a booking on both sides ---------------------------------------------------------------------
def _by_booking_code(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """HubSpot's booking records by booking code, less the waitlist places (the push shows
    them as booking objects; they are not bookings)."""
    remote: dict[str, dict[str, Any]] = {}
    for rec in records:
        code = _text(rec["properties"].get("booking_id")) or f"hubspot:{rec['id']}"
        if not code.startswith(WAITLIST_CODE_PREFIX):
            remote[code] = rec
    return remote


def _booking_pairs(
    state: dict[str, Any], props: dict[str, Any]
) -> Iterator[tuple[str, Any, Any]]:
    """(property, Postgres' value, HubSpot's) of each booking property compared; the contact's
    HubSpot id is the booking's own, else its contact's."""
    for prop, column in BOOKING_FIELDS.items():
        local = state.get(column)
        if prop == "associated_contact_id":
            local = local or state.get("contact_hubspot_id")
        yield prop, local, props.get(prop)


def _drop_fixes(fixes: dict[str, Any], bad: set[str], linked: set[str]) -> None:
    """Take out of ``fixes`` every one that touches a record of ``bad`` (HubSpot ids) or of
    ``linked`` (the local ids of those records)."""
    for key, items in fixes.items():
        if isinstance(items, list):
            fixes[key] = [i for i in items if not _touches(i, bad, linked)]
        elif isinstance(items, dict):
            fixes[key] = {k: v for k, v in items.items() if k not in bad}


def _touches(item: Any, bad: set[str], linked: set[str]) -> bool:
    if isinstance(item, dict):
        return str(item.get("id")) in bad or str(item.get("hubspot_id")) in bad
    return str(item) in bad or str(item) in linked


# ---- lag and what a repair fixes ---------------------------------------------------------------
# What the push writes of each kind of record, as the difference it fixes (the catalogue's
# writes="push", as reconcile names the fields): a booking whole, with its missing associations;
# a contact's credits and its HubSpot id (matched by email); an exam's total_bookings, and its
# capacity and prerequisites when a local change of them waits (the push writes nothing else).
PUSHED = {"bookings": None, "contacts": {*CREDIT_FIELDS, "hubspot_id"},
          "exams": {"total_bookings"}}
PUSHED_WHEN_CHANGED = {"exams": {"capacity": "capacity",
                                 "prerequisite_exam_ids": "prerequisite_exam_ids"}}


def _pushed(name: str, kind: str, fields: dict[str, Any], changed: set[str]) -> bool:
    """Whether the push of a record whose outbox rows change ``changed`` (columns; "*": all)
    fixes its difference (``kind``, ``fields``)."""
    if kind == "missing_in_hubspot":
        return name != "exams"  # (an exam HubSpot no longer has: the push never creates one)
    allowed = PUSHED[name]
    if allowed is None:
        return True
    allowed = allowed | {f for f, column in PUSHED_WHEN_CHANGED.get(name, {}).items()
                         if "*" in changed or column in changed}
    return set(fields) <= allowed


def _not_covered(entity: EntityReport, fixes: dict[str, Any]) -> list[dict[str, Any]]:
    """The drifting records of ``entity`` that none of a repair's ``fixes`` touches (queued for
    the push, applied from HubSpot, imported, an association removed): what is left after it."""
    covered: set[str] = set()
    for items in fixes.values():
        for fix in items if isinstance(items, list) else list(items):
            if isinstance(fix, dict):
                covered.update(str(fix.get(k)) for k in ("id", "record_id") if fix.get(k))
            else:
                covered.add(str(fix))
    drifting = [*entity.missing_in_hubspot, *entity.missing_in_postgres, *entity.different]
    return [item for item in drifting
            if not {str(item.get(k)) for k in ("record_id", "key", "hubspot_id")
                    if item.get(k)} & covered]


# ---- a contact on both sides -------------------------------------------------------------------
def _contact_key(row: dict[str, Any]) -> str:
    return row["state"].get("student_id") or str(row["record_id"])


def _hubspot_contact_key(rec: dict[str, Any]) -> str:
    return rec["properties"].get("student_id") or rec["properties"].get("email") or rec["id"]


def _compare_contact(
    row: dict[str, Any], rec: dict[str, Any], report: EntityReport, fixes: dict[str, Any]
) -> None:
    """A contact both sides have: its profile (HubSpot's) and its credits (Postgres') compared;
    a difference is reported, and fixed by applying HubSpot's profile (:func:`_profile_fix`) or
    pushing the credits again."""
    state, props = row["state"], rec["properties"]
    profile = _profile_diff(row, rec)
    credits = _diff((f, state.get(f) or 0, props.get(f) or 0) for f in CREDIT_FIELDS)
    if not profile and not credits:
        return
    report.different.append({"key": _contact_key(row), "record_id": str(row["record_id"]),
                             "hubspot_id": rec["id"], "fields": {**profile, **credits}})
    if profile and (fix := _profile_fix(state, rec, profile)) is not None:
        fixes["profile"].append(fix)
    if credits:
        fixes["requeue"].append(row["record_id"])


def _profile_diff(row: dict[str, Any], rec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The profile fields that differ (a student_id HubSpot does not hold is not compared), and
    the HubSpot id when Postgres matched the contact by email only."""
    state, props = row["state"], rec["properties"]
    profile = _diff(
        (f, state.get(f), props.get(f))
        for f in CONTACT_PROFILE
        if f != "student_id" or _text(props.get(f))
    )
    if not row["hubspot_id"]:
        profile["hubspot_id"] = {"postgres": None, "hubspot": rec["id"]}
    return profile


def _profile_fix(
    state: dict[str, Any], rec: dict[str, Any], profile: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """HubSpot's record to apply for a differing profile, or None when nothing is to apply.
    Empty in HubSpot means unknown there (a contact re-created by email, an import without
    names): reported (``repair``), never copied over Postgres' value."""
    props = rec["properties"]
    kept = {f: state.get(f) for f in CONTACT_PROFILE
            if f in profile and not _text(props.get(f)) and _text(state.get(f))}
    for f in kept:
        profile[f]["repair"] = "kept: HubSpot's value is empty"
    if set(profile) - set(kept):
        return {**rec, "properties": {**props, **kept}}
    return None


class Reconciler:
    def __init__(
        self,
        db: Database,
        reader: HubSpotReader,
        settings: Settings,
        *,
        progress: Progress | None = None,
    ) -> None:
        self.puller = Puller(
            db,
            reader,
            actor=RECONCILE_ACTOR,
            progress=progress,
            prerequisite_type=settings.prerequisite_association_type_id,
        )
        self.store = self.puller.store
        self._listed: dict[str, list[dict[str, Any]]] = {}  # target -> records as listed
        self._fresh: dict[str, dict[str, dict[str, Any] | None]] = {}  # target -> read by id
        self.reader = reader
        self.settings = settings
        self.targets = targets(settings)
        # {merged-away contact id: the contact it was merged into}, from contacts()
        self.merged_into: dict[str, str] = {}

    def _associated(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, set[str]]:
        """{from id: ids of the records of ``to_type`` it is associated with (any type)}."""
        found = self.puller._fetch(lambda: self.reader.client.associations(from_type, to_type, ids))
        return {fid: {to for to, _types in pairs} for fid, pairs in found.items()}

    def _hubspot(self, target: Target) -> list[dict[str, Any]]:
        """Every record of ``target`` as HubSpot's search lists it (read once), with the records
        read again by id (:meth:`reread`) in place of what the search showed."""
        if target.name not in self._listed:
            out: list[dict[str, Any]] = []
            seen: set[str] = set()
            read = 0
            for records, _cursor, total in self.puller.pages(target, 0):
                for r in records:  # keyset paging re-reads a page's last millisecond
                    if r["id"] not in seen:
                        seen.add(r["id"])
                        out.append(r)
                read += len(records)
                if self.puller.progress is not None:
                    self.puller.progress(target.name, len(out),
                                         total if read == len(records) else None)
            self._listed[target.name] = out
        fresh = self._fresh.get(target.name)
        if not fresh:
            return self._listed[target.name]
        listed = [fresh.get(r["id"], r) for r in self._listed[target.name]
                  if r["id"] not in fresh or fresh[r["id"]] is not None]
        known = {r["id"] for r in listed}
        return listed + [r for i, r in fresh.items() if r is not None and i not in known]

    def refuse_hostile(self, name: str, fixes: dict[str, Any]) -> int:
        """Before a repair: the records of ``name`` HubSpot holds that the value screen refuses
        (glue.hubspot.wire, as the pull) are dead-lettered like the pull's, and no fix touches
        them (neither applied here, nor pushed over: their HubSpot value could not be read).
        Returns how many."""
        target = self.targets[name]
        listed = self._hubspot(target)
        _, refused = wire.screen(listed)
        bad = {r.record_id for r in refused if r.record_id is not None}
        if not bad:
            return 0
        by_id = {str(r.get("id")): r for r in listed}
        for why in refused:
            if why.record_id is not None:
                self.store.note_pull_error(
                    target.table, why.record_id, why.error, wire.storable(by_id[why.record_id])
                )
        linked = {
            str(row["record_id"])
            for row in self.store.local_state(target.table)
            if row["hubspot_id"] in bad
        }
        _drop_fixes(fixes, bad, linked)
        return len(bad)

    def reread(self, name: str, ids: set[str]) -> None:
        """Read ``ids`` again by id (a batch read shows every write at once; search lags behind
        it: https://developers.hubspot.com/docs/api/crm/search, "there may be a slight delay
        before newly created or updated objects appear in search results") and use what they
        say instead of the search's view; an id HubSpot no longer has is dropped."""
        target = self.targets[name]
        ids = {i for i in ids if i}
        if not ids:
            return
        found = {str(r["id"]): r for r in self.puller._fetch(lambda: self.puller.reader.read(
            target.object_type, sorted(ids), properties=target.properties))}
        self._fresh.setdefault(name, {}).update({i: found.get(i) for i in ids})

    def set_apart_waiting(self, name: str, entity: EntityReport) -> None:
        """Move out of the drift the records whose difference their outbox rows still to push
        write (a booking, a contact's credits, an exam's totals queued and not pushed yet): the
        next push fixes them, so they are lag, reported apart (``entity.waiting``)."""
        items = [(kind, item) for kind in ("missing_in_hubspot", "different")
                 for item in getattr(entity, kind) if item.get("record_id")]
        pending = self.store.waiting_records(
            self.targets[name].table, sorted({item["record_id"] for _, item in items}))
        extra = {item["record_id"] for item in entity.extra_associations}
        for kind, item in items:
            changed = pending.get(item["record_id"])
            if changed is None or item["record_id"] in extra:
                continue
            if _pushed(name, kind, item.get("fields") or {}, changed):
                getattr(entity, kind).remove(item)
                entity.waiting.append({**item, "kind": kind})

    def drift_ids(self, name: str, entity: EntityReport) -> set[str]:
        """The HubSpot ids of the records ``entity`` reports as drifting."""
        local = {str(r["record_id"]): r["hubspot_id"]
                 for r in self.store.local_state(self.targets[name].table)}
        ids: set[str] = set()
        for item in (*entity.different, *entity.missing_in_hubspot,
                     *entity.missing_in_postgres):
            ids.add(item.get("hubspot_id") or local.get(str(item.get("record_id"))) or "")
            if name == "exams":
                ids.add(str(item.get("key") or ""))
        return ids - {""}

    # ---- exams ----------------------------------------------------------------------------
    def exams(self) -> tuple[EntityReport, dict[str, Any]]:
        target = self.targets["exams"]
        remote = {r["id"]: r for r in self._hubspot(target)}
        local = {row["hubspot_id"]: row for row in self.store.local_state(target.table)}
        report = EntityReport(compared=len(set(remote) | set(local)))
        fixes: dict[str, Any] = {"apply": [], "requeue": [], "archive": [], "prerequisites": {}}
        # Prerequisites are exam->exam associations in HubSpot (from the exam to each one).
        prerequisites = self.puller.prerequisite_lists(
            target.object_type, sorted(h for h in remote if h in local)
        )
        for hid, row in sorted(local.items()):
            if hid in remote:
                _compare_exam(row, remote[hid], prerequisites.get(hid, []), report, fixes)
            elif (row["state"].get("is_active") or "").lower() != "false":
                # (archived or deleted in HubSpot and inactive here: agreed)
                report.missing_in_hubspot.append({"key": hid, "record_id": str(row["record_id"])})
                fixes["archive"].append(hid)
        for hid, rec in sorted(remote.items()):
            if hid not in local:
                report.missing_in_postgres.append({"key": hid, "hubspot_id": hid})
                fixes["apply"].append(rec)
        return report, fixes

    def repair_exams(self, report: EntityReport, fixes: dict[str, Any]) -> None:
        records = fixes["apply"] + [
            {"id": hid, "properties": {}, "archived": True} for hid in fixes["archive"]
        ]
        applied = self._apply("exams", records)
        # HubSpot's associations apply, except over a local change not pushed yet (the push
        # writes that one: apply_pulled_prerequisites keeps it).
        lists = fixes["prerequisites"]
        result = self.store.apply_prerequisites(lists, RECONCILE_ACTOR) if lists else {}
        report.repaired = {
            "applied_from_hubspot": applied,
            "prerequisites_from_hubspot": int(result.get("updated") or 0),
            "prerequisites_pushed": int(result.get("kept_local") or 0),
            "requeued": self.store.requeue_records(EXAMS_TABLE, fixes["requeue"]),
        }

    # ---- contacts -------------------------------------------------------------------------
    def contacts(self) -> tuple[EntityReport, dict[str, Any]]:
        target = self.targets["contacts"]
        remote = {r["id"]: r for r in self._hubspot(target)}
        by_email = {
            (_text(r["properties"].get("email")) or "").lower(): r["id"] for r in remote.values()
        }
        self.merged_into.update(
            {old: rec["id"] for rec in remote.values()
             for old in _ids(rec["properties"].get(MERGED_IDS))}
        )
        rows = self.store.local_state(target.table)
        report = EntityReport()
        fixes: dict[str, Any] = {"profile": [], "requeue": [], "insert": []}
        matched: set[str] = set()
        for row in sorted(rows, key=lambda r: r["state"].get("student_id") or ""):
            email = (row["state"].get("email") or "").strip().lower()
            hid = row["hubspot_id"] or by_email.get(email)
            if hid and hid in remote:
                matched.add(hid)
                _compare_contact(row, remote[hid], report, fixes)
                continue
            report.missing_in_hubspot.append(
                {"key": _contact_key(row), "record_id": str(row["record_id"]), "hubspot_id": hid}
            )
            fixes["requeue"].append(row["record_id"])
        for hid, rec in sorted(remote.items()):
            if hid not in matched:  # imported
                key = _hubspot_contact_key(rec)
                report.missing_in_postgres.append({"key": key, "hubspot_id": hid})
                fixes["insert"].append(rec)
        report.compared = len(rows) + len(report.missing_in_postgres)
        return report, fixes

    def repair_contacts(self, report: EntityReport, fixes: dict[str, Any]) -> None:
        report.repaired = {
            "profile_from_hubspot": self._apply("contacts", fixes["profile"], merge=False),
            "imported": self._apply("contacts", fixes["insert"]),
            "requeued": self.store.requeue_records(CONTACTS_TABLE, fixes["requeue"]),
        }

    # ---- bookings -------------------------------------------------------------------------
    def bookings(self) -> tuple[EntityReport, dict[str, Any]]:
        target = self.targets["bookings"]
        remote = _by_booking_code(self._hubspot(target))
        rows = self.store.local_state(target.table)
        report = EntityReport()
        fixes: dict[str, Any] = {"requeue": [], "import": [], "dissociate": []}
        local_codes: set[str] = set()
        # Associations: each booking with its contact and its exam (the push makes them).
        booking_ids = sorted({rec["id"] for rec in remote.values()})
        links = {
            "contact": self._associated(target.object_type, CONTACTS, booking_ids),
            "exam": self._associated(
                target.object_type, self.settings.exams_object_type, booking_ids
            ),
        }
        for row in sorted(rows, key=lambda r: r["state"].get("booking_id") or ""):
            code = row["state"].get("booking_id") or f"id:{row['record_id']}"
            local_codes.add(code)
            if code in remote:
                self._compare_booking(row, code, remote[code], links, report, fixes)
                continue
            report.missing_in_hubspot.append(
                {"key": code, "record_id": str(row["record_id"]), "hubspot_id": row["hubspot_id"]}
            )
            fixes["requeue"].append(row["record_id"])
        for code, rec in sorted(remote.items()):
            if code not in local_codes:
                report.missing_in_postgres.append({"key": code, "hubspot_id": rec["id"]})
                fixes["import"].append(rec)
        report.compared = len(rows) + len(report.missing_in_postgres)
        return report, fixes

    def _compare_booking(
        self,
        row: dict[str, Any],
        code: str,
        rec: dict[str, Any],
        links: dict[str, dict[str, set[str]]],
        report: EntityReport,
        fixes: dict[str, Any],
    ) -> None:
        """A booking both sides have: its fields, its HubSpot id and its associations of each
        kind (``links``: {kind: {booking id: the ids HubSpot associates it with}}) compared. A
        difference is reported and pushed again; an extra association alone is removed, not
        pushed (:meth:`_compare_association`)."""
        state = row["state"]
        fields = _diff(_booking_pairs(state, rec["properties"]))
        if row["hubspot_id"] and row["hubspot_id"] != rec["id"]:
            fields["hubspot_id"] = {"postgres": row["hubspot_id"], "hubspot": rec["id"]}
        requeue = bool(fields)
        for kind, found in links.items():
            item = {"key": code, "record_id": str(row["record_id"]), "hubspot_id": rec["id"],
                    "association": kind}
            found_here = found.get(rec["id"], set())
            requeue |= self._compare_association(item, state, found_here, fields, report, fixes)
        if fields:
            report.different.append(
                {"key": code, "record_id": str(row["record_id"]), "fields": fields}
            )
        if requeue:
            fixes["requeue"].append(row["record_id"])

    def _compare_association(
        self,
        item: dict[str, Any],
        state: dict[str, Any],
        found: set[str],
        fields: dict[str, Any],
        report: EntityReport,
        fixes: dict[str, Any],
    ) -> bool:
        """A booking's association of one kind (``item``: the booking and the kind) against the
        ones HubSpot has (``found``): a difference goes in ``fields``, an extra association in
        the report and the fixes (removed, not pushed). True: the booking must be pushed again
        (its association is missing)."""
        kind = item["association"]
        want = _booking_link(state, kind)
        extra = sorted(found - {want, self.merged_into.get(want)}) if want else []
        missing = bool(want) and want not in found
        if not missing and not extra:
            return False
        fields[f"association:{kind}"] = {"postgres": want, "hubspot": sorted(found)}
        if extra:
            item = {**item, "postgres": want, "extra": extra}
            report.extra_associations.append(item)
            fixes["dissociate"].append(item)
        return missing

    def repair_bookings(self, report: EntityReport, fixes: dict[str, Any]) -> None:
        imported: list[str] = []
        count = self._apply("bookings", fixes["import"], inserted=imported)
        report.repaired = {
            "requeued": self.store.requeue_records(BOOKINGS_TABLE, fixes["requeue"]),
            "imported": count,
        }
        if fixes["dissociate"]:
            report.repaired["associations_removed"] = self._remove_extra(fixes["dissociate"])
        # Imported rows are Postgres' now (exam times filled in...): HubSpot gets them back, and
        # so do their exams' total_bookings, which the import moved (else a second round).
        self.store.requeue_records(BOOKINGS_TABLE, imported)
        exam_ids = {
            str(rec["properties"].get("associated_mock_exam") or "") for rec in fixes["import"]
        }
        exams = [
            row["record_id"]
            for row in self.store.local_state(EXAMS_TABLE)
            if row["hubspot_id"] in exam_ids
        ]
        queued = self.store.requeue_records(EXAMS_TABLE, exams) if imported else 0
        if queued:  # (0: the exam was waiting in the outbox already)
            report.repaired["exams_requeued"] = queued

    def _remove_extra(self, extras: list[dict[str, Any]]) -> int:
        """Remove the extra associations found (HubSpot's side of a booking Postgres owns),
        read again against Postgres first: one that has become the booking's own since (a
        re-linked contact, pushed meanwhile) is kept, and so are those of a booking no longer
        there or whose contact or exam is no longer known. The number of associations removed."""
        now = {str(r["record_id"]): r["state"] for r in self.store.local_state(BOOKINGS_TABLE)}
        removals: dict[str, list[tuple[str, list[str]]]] = {"contact": [], "exam": []}
        for item in extras:
            want = _booking_link(now.get(item["record_id"]) or {}, item["association"])
            if want is None:
                continue
            keep = {want, self.merged_into.get(want)}
            if gone := [i for i in item["extra"] if i not in keep]:
                removals[item["association"]].append((item["hubspot_id"], gone))
        client = self.reader.client
        bookings = self.targets["bookings"].object_type
        for kind, to_type in (("contact", CONTACTS), ("exam", self.settings.exams_object_type)):
            if removals[kind]:  # batch/archive is idempotent: retried like a read
                self.puller._fetch(
                    lambda k=kind, t=to_type: client.dissociate(bookings, t, removals[k])
                )
        return sum(len(gone) for pairs in removals.values() for _, gone in pairs)

    def _apply(
        self,
        name: str,
        records: list[dict[str, Any]],
        *,
        merge: bool = True,
        inserted: list[str] | None = None,
    ) -> int:
        done = 0
        for start in range(0, len(records), 200):
            chunk = records[start : start + 200]
            if name == "exams":
                result = self.store.apply_exams(chunk, RECONCILE_ACTOR)
            elif name == "contacts":
                result = self.store.apply_contacts(chunk, RECONCILE_ACTOR, merge_credits=merge)
            else:
                result = self.store.apply_bookings(chunk, RECONCILE_ACTOR)
                if inserted is not None:
                    inserted.extend(result.get("inserted_ids") or [])
            done += len(chunk) - len(result.get("errors") or []) - len(result.get("retry") or [])
        return done


def reconcile(
    db: Database,
    client: HubSpotClient,
    settings: Settings,
    *,
    repair: bool = False,
    reader: HubSpotReader | None = None,
    progress: Progress | None = None,
) -> ReconcileReport:
    """Compare (and with ``repair`` queue the fixes); records the drift for `mockbook status`."""
    started = time.monotonic()
    reader = reader or HubSpotReader.from_settings(client, settings)
    rec = Reconciler(db, reader, settings, progress=progress)
    report = ReconcileReport(repair=repair)
    steps: list[tuple[str, Callable[[], Any], Callable[[EntityReport, Any], None]]] = [
        ("exams", rec.exams, rec.repair_exams),
        ("contacts", rec.contacts, rec.repair_contacts),
        ("bookings", rec.bookings, rec.repair_bookings),
    ]
    for name, compare, fix in steps:
        entity, fixes = compare()
        if entity.drift:  # what the search showed may be behind: read the drift again by id
            rec.reread(name, rec.drift_ids(name, entity))
            entity, fixes = compare()
        rec.set_apart_waiting(name, entity)
        report.entities[name] = entity
        if repair and entity.drift:
            rec.refuse_hostile(name, fixes)
            fix(entity, fixes)
            entity.left = len(_not_covered(entity, fixes))
    report.data_problems = db.data_problems()
    report.seconds = round(time.monotonic() - started, 3)
    compared = sum(e.compared for e in report.entities.values())
    # what `mockbook status` checks: the drift a push will not fix (records waiting in the
    # outbox are lag, not drift; after a repair, what it queued or applied is fixed)
    rec.store.save_cursor(
        "reconcile",
        {
            "drift": report.left,
            "found": report.drift,
            "waiting": report.waiting,
            "by_entity": {k: v.drift if v.left is None else v.left
                          for k, v in report.entities.items()},
            "repair": repair,
        },
    )
    rec.store.record_run(
        "reconcile",
        "success",
        compared,
        f"{report.drift} record(s) drifting" if report.drift else None,
    )
    return report
