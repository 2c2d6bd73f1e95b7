"""Pull (HubSpot -> Postgres): exams and contacts that admins changed in HubSpot.

Incremental, through the search API, by last-modification date (``hs_lastmodifieddate`` for
exams, ``lastmodifieddate`` for contacts), 200 records per page, sorted ascending. Paging is by
key, not by offset: every request asks for ``lastmodified >= T`` from the first result
(``after`` "0"), T being the newest modification date seen so far. So
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import tenacity

from glue.clock import SYSTEM, Clock
from glue.config import PULL_OVERLAP_SECONDS, Settings
from glue.db.database import Database
from glue.db.pull import CONTACTS_TABLE, PullDatabase
from glue.hubspot.catalogue import MERGED_IDS, SYNCED
from glue.hubspot.client import CONTACTS, MAX_ASSOCIATION_READ, HubSpotClient, HubSpotError
from glue.hubspot.ratelimit import Stopped
from glue.hubspot.reads import SEARCH_PAGE, HubSpotReader
from glue.sync.pull_edge import KEY as EDGE
from glue.sync.pull_edge import Edge

# How it works (the detail of the module docstring):
#
# - a pass never meets the search API's 10,000-results cap, however many records changed;
# - a record modified while a pass runs cannot shift another one out of a page;
# - when a whole page shares one modification date (more than 200 records changed in the same
#   millisecond), the pass reads that millisecond alone by ``hs_object_id`` order
#   (``lastmodified == T and hs_object_id > last id``), then goes on after it.
#
# After each page is applied the position is saved in ``sync_metadata.cursor``
# (``{"since_ms": T, "tie_id": ...}``) of ``pull:exams`` / ``pull:contacts``, so an interrupted
# pass resumes there. Each pass starts ``overlap`` seconds before the saved position because
# search is eventually consistent (a record changed just before T may become searchable after
# the pass went by); reading a record twice is harmless (applying it again changes nothing; the
# credit merge is a delta against the last synced value). A page whose search ``total`` says
# nothing is left is the last one (no empty page is asked for). The next pages (``ahead``) are
# fetched by a thread while the current one is applied, so searches follow each other at the
# search limit's pace whatever the database's. Bookings are applied 1,000 at a time (five
# pages), the size of one associations batch read per kind, and their cursor saved after them.
# A stop fetches no further page; what was fetched is applied, in the same groups (only the group
# the stop ends is smaller: its pages' associations are read once), and its cursor saved.
#
# Pulled records go to the database functions ``apply_pulled_exams`` / ``apply_pulled_contacts``
# (mockbook.origin 'hubspot': nothing is echoed back by the push). A record the database could not
# apply is reported and dead-lettered there (sync_errors, direction pull), never stopping the
# pass; records with an open pull dead letter are read again (by id) on every pass. Exams: the
# archived ones are deactivated, and scheduled exams whose activation time has passed are
# activated. HubSpot errors: the client retries 5xx/timeouts and waits out 429s; what still fails
# is retried here a few times with backoff, after which the pass stops (its cursor saved) and is
# reported failed.
#
# Contacts a push is sending (their outbox row under a live lease) are not merged: the push
# may be writing their credits right now, and HubSpot's value cannot be placed before or after
# that write. apply_pulled_contacts answers BUSY for them (in retry, like a locked contact);
# after the retries here they are dead-lettered and read again by id on the next pass, when the
# push's write-back has made what it sent the merge's base (tests/py/sync/test_push_pull_race.py).
# The webhook processor applies through ``Puller.apply``: the same rule.

log = logging.getLogger(__name__)

# What each read asks HubSpot for (the catalogue): the properties of the record a command reads,
# and the modification date. CREDIT_FIELDS: the contact's credits (glue/credit_fields.py's list).
CREDIT_FIELDS = SYNCED["contacts"].names(owner="postgres")
EXAM_PROPERTIES = SYNCED["exams"].read
CONTACT_PROPERTIES = SYNCED["contacts"].read
BOOKING_PROPERTIES = SYNCED["bookings"].read
PULL_ACTOR = "hubspot:pull"
DEFAULT_OVERLAP_SECONDS = PULL_OVERLAP_SECONDS.default


@dataclass(frozen=True)
class Target:
    """One kind of record the glue reads from HubSpot."""

    name: str  # exams | contacts | bookings
    sync_type: str  # sync_metadata row of its cursor
    object_type: str
    table: str
    lastmod: str  # the last-modification property searched and sorted on
    properties: tuple[str, ...]


def targets(settings: Settings) -> dict[str, Target]:
    exams, contacts, bookings = SYNCED["exams"], SYNCED["contacts"], SYNCED["bookings"]
    return {
        "exams": Target(
            "exams",
            "pull:exams",
            settings.exams_object_type,
            exams.table,
            exams.lastmod,
            EXAM_PROPERTIES,
        ),
        "contacts": Target(
            "contacts",
            "pull:contacts",
            CONTACTS,
            contacts.table,
            contacts.lastmod,
            (*CONTACT_PROPERTIES, MERGED_IDS),
        ),
        "bookings": Target(
            "bookings",
            "import:bookings",
            settings.bookings_object_type,
            bookings.table,
            bookings.lastmod,
            BOOKING_PROPERTIES,
        ),
    }


def to_ms(value: Any) -> int | None:
    """Epoch milliseconds of a HubSpot timestamp (ISO 8601 or epoch ms), else None."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


@dataclass
class TargetStats:
    read: int = 0
    pages: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    activated: int = 0
    merged: int = 0
    baselined: int = 0
    queued: int = 0
    linked: int = 0
    matched: int = 0
    prerequisites: int = 0  # exams whose prerequisite list changed (exam->exam associations)
    errors: list[dict[str, Any]] = field(default_factory=list)
    capacity_refused: list[dict[str, Any]] = field(default_factory=list)
    clamped: list[dict[str, Any]] = field(default_factory=list)
    # ({id, field}) an empty name or credit value in HubSpot: unknown, the local value kept
    # (reconcile reports the drift)
    blank: list[dict[str, Any]] = field(default_factory=list)
    # exams applied whose start/end time cannot be read ({id, problem}): HubSpot's to fix
    time_problems: list[dict[str, Any]] = field(default_factory=list)
    # bookings whose exam or contact property disagreed with their association ({id, property,
    # value, associations, applied}): the association was applied where there was one
    reassociated: list[dict[str, Any]] = field(default_factory=list)
    failed: str | None = None  # why the pass stopped early (HubSpot unreachable...)
    # it stopped because HubSpot did not answer properly (no answer, a 5xx, a 429, an answer
    # that is not HubSpot's JSON): try again later (exit 75)
    transient: bool = False
    stopped: bool = False  # a stop was asked: the pass ended early, its cursor saved
    total: int | None = None  # what the first search said it would find

    def add(self, result: dict[str, Any]) -> None:
        for key in (
            "inserted",
            "updated",
            "unchanged",
            "deactivated",
            "merged",
            "baselined",
            "queued",
            "linked",
            "matched",
        ):
            setattr(self, key, getattr(self, key) + int(result.get(key) or 0))
        seen = {e.get("id") for e in result.get("errors") or []}
        self.errors = [e for e in self.errors if e.get("id") not in seen]
        self.errors.extend(result.get("errors") or [])
        self.capacity_refused.extend(result.get("capacity_refused") or [])
        self.clamped.extend(result.get("clamped") or [])
        self.blank.extend(result.get("blank") or [])
        seen = {p.get("id") for p in result.get("time_problems") or []}
        self.time_problems = [p for p in self.time_problems if p.get("id") not in seen]
        self.time_problems.extend(result.get("time_problems") or [])

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v not in (None, 0, [])} | {
            "read": self.read,
            "errors": self.errors,
        }


@dataclass
class PullStats:
    targets: dict[str, TargetStats] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(t.failed is None for t in self.targets.values())

    @property
    def hubspot_down(self) -> bool:
        """Every pass that stopped did so because HubSpot did not answer properly."""
        failed = [t for t in self.targets.values() if t.failed is not None]
        return bool(failed) and all(t.transient for t in failed)

    @property
    def problems(self) -> int:
        """Records reported (malformed, capacity refused): exit 1 territory."""
        return sum(len(t.errors) + len(t.capacity_refused) for t in self.targets.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "targets": {k: v.as_dict() for k, v in self.targets.items()},
            "seconds": self.seconds,
        }


Progress = Callable[[str, int, int | None], None]  # (target name, records read, total or None)


def modified_ms(records: list[dict[str, Any]], lastmod: str) -> dict[str, int]:
    """{record id: its modification time in epoch ms} of the records that carry one."""
    found = {}
    for rec in records:
        ms = to_ms((rec.get("properties") or {}).get(lastmod))
        if ms is not None:
            found[str(rec["id"])] = ms
    return found


class Puller:
    """Reads one target's changed records from HubSpot and applies them, page by page."""

    def __init__(
        self,
        db: Database,
        reader: HubSpotReader,
        *,
        actor: str = PULL_ACTOR,
        overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
        page_size: int = SEARCH_PAGE,
        fetch_attempts: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] | None = None,
        clock: Clock = SYSTEM,
        progress: Progress | None = None,
        prerequisite_type: int | None = None,
        stop: threading.Event | None = None,
        exam_type: str | None = None,
        ahead: int = 1,
    ) -> None:
        self.ahead = max(1, ahead)  # pages fetched ahead of the one being applied
        self.prerequisite_type = prerequisite_type
        self.stop = stop
        self.exam_type = exam_type  # bookings: read their exam associations (None: do not)
        self.db = db
        self.store = PullDatabase(db)
        self.reader = reader
        self.actor = actor
        self.overlap_ms = int(overlap_seconds * 1000)
        self.page_size = page_size
        self.fetch_attempts = fetch_attempts
        self.backoff = backoff
        # waits (backoffs, BUSY retries) on the clock; no time of this host orders anything
        self._sleep = sleep or clock.sleep
        self.progress = progress

    # ---- reading ----------------------------------------------------------------------------
    def _query(
        self, target: Target, since_ms: int, tie_id: str | None
    ) -> tuple[list[dict[str, Any]], int]:
        if tie_id is None:
            groups = [[{"propertyName": target.lastmod, "operator": "GTE", "value": str(since_ms)}]]
            sorts = [target.lastmod]
        else:
            groups = [
                [
                    {"propertyName": target.lastmod, "operator": "EQ", "value": str(since_ms)},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": tie_id},
                ]
            ]
            sorts = ["hs_object_id"]
        page = self._fetch(
            lambda: self.reader.search(
                target.object_type,
                groups,
                properties=target.properties,
                sorts=sorts,
                limit=self.page_size,
            )
        )
        return page.results, page.total

    def _fetch(self, call: Callable[[], Any]) -> Any:
        """One HubSpot read, tried again (``fetch_attempts`` in all, backoff doubling from
        ``backoff`` seconds) when it fails transiently."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(
                lambda exc: isinstance(exc, HubSpotError) and exc.transient
            ),
            stop=tenacity.stop_after_attempt(self.fetch_attempts),
            wait=tenacity.wait_exponential(multiplier=self.backoff, min=0),
            sleep=lambda seconds: self._sleep(seconds),
            before_sleep=lambda state: log.info(
                "HubSpot read failed (%s); trying again in %.1f s",
                state.outcome.exception() if state.outcome else None,
                state.next_action.sleep if state.next_action else 0,
            ),
            reraise=True,
        )
        return retrying(call)

    def pages(
        self, target: Target, since_ms: int, tie_id: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any], int]]:
        """(records, cursor after them, search total) for every page of records modified at or
        after ``since_ms``; up to ``ahead`` pages are fetched while the caller handles the
        current one. A stop (``self.stop``) fetches no further page: the pages already fetched
        come, then the iteration ends (its last cursor still has a ``tie_id`` key)."""
        done = object()
        out: queue.Queue[Any] = queue.Queue(maxsize=self.ahead)
        closed = threading.Event()

        def put(item: Any) -> bool:
            while not closed.is_set():
                try:
                    out.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def fetch() -> None:
            state: tuple[int, str | None] | None = (since_ms, tie_id)
            try:
                while state is not None:
                    if closed.is_set() or (self.stop is not None and self.stop.is_set()):
                        break
                    records, total = self._query(target, state[0], state[1])
                    queried = state[0]
                    state = self._advance(target, state, records, total)
                    if state is not None:
                        cursor: dict[str, Any] = {"since_ms": state[0], "tie_id": state[1]}
                    else:
                        cursor = {"since_ms": self._high_water(target, records, queried)}
                    if not put((records, cursor, total)):
                        return
                put(done)
            except BaseException as exc:  # handed to the caller, in order
                stopped = self.stop is not None and self.stop.is_set()
                put(done if stopped else exc)

        thread = threading.Thread(target=fetch, name="pull-fetch", daemon=True)
        thread.start()
        try:
            while True:
                item = out.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            closed.set()
            thread.join()

    def _advance(
        self,
        target: Target,
        state: tuple[int, str | None],
        records: list[dict[str, Any]],
        total: int | None = None,
    ) -> tuple[int, str | None] | None:
        """The keyset position after a page (None: nothing more to read). ``total``: what the
        search said matches its query; a page holding all of it is the last of its query."""
        since, tie = state
        whole = total is not None and len(records) >= total
        if tie is not None:  # reading one millisecond by id
            if len(records) < self.page_size or whole:
                return (since + 1, None)
            return (since, records[-1]["id"])
        if len(records) < self.page_size or whole:
            return None
        last = to_ms(records[-1]["properties"].get(target.lastmod))
        if last is None or last <= since:
            return (since, "0")  # a full page of one millisecond: read it by id
        return (last, None)

    def _high_water(self, target: Target, records: list[dict[str, Any]], since: int) -> int:
        stamps = [to_ms(r["properties"].get(target.lastmod)) for r in records]
        return max([since, *[s for s in stamps if s is not None]])

    # ---- applying ---------------------------------------------------------------------------
    def apply(self, target: Target, records: list[dict[str, Any]], stats: TargetStats) -> list[str]:
        """Apply records; records busy right now (lock wait) are tried again, then
        dead-lettered so the next pass reads them again. Returns the ids still busy (the
        webhook processor keeps their events pending)."""
        if target.name == "contacts":
            self._relink_merged(records, stats)
        if target.name == "bookings" and self.exam_type is not None:
            records = self._as_associated(target, records, stats)
        pending = records

        def apply_pending() -> list[dict[str, Any]]:
            """Apply the pending records once; the ones left busy stay pending."""
            nonlocal pending
            if target.name == "exams":
                result = self.store.apply_exams(pending, self.actor)
            elif target.name == "contacts":
                result = self.store.apply_contacts(pending, self.actor)
            else:
                result = self.store.apply_bookings(pending, self.actor)
            stats.add(result)
            recheck = result.get("recheck") or []
            busy_again: list[str] = []
            if recheck:  # contacts the push wrote: read again with their credits' history
                again = self._fetch(
                    lambda ids=recheck: self.reader.read(
                        target.object_type,
                        ids,
                        properties=target.properties,
                        history=CREDIT_FIELDS,
                    )
                )
                if again:
                    again_result = self.store.apply_contacts(again, self.actor)
                    stats.add(again_result)
                    busy_again = again_result.get("retry") or []
            busy = {*(result.get("retry") or []), *busy_again}
            pending = [r for r in pending if r["id"] in busy]
            return pending

        # Three passes, 0.5 s then 1 s apart, while records are busy (an answer, not an
        # exception: retry_if_result); what is still busy after the third is returned.
        tenacity.Retrying(
            retry=tenacity.retry_if_result(bool),
            stop=tenacity.stop_after_attempt(3),
            wait=tenacity.wait_incrementing(start=0.5, increment=0.5),
            sleep=lambda seconds: self._sleep(seconds),
            retry_error_callback=lambda state: state.outcome.result(),
        )(apply_pending)
        # A BUSY letter asks for one thing: read the record again. Read again and not busy
        # now, it is settled whatever the apply made of it (applied, unchanged, older than what
        # was applied since, or another letter's error in place of BUSY): closed here, for
        # every path that applies pulled records (pass, recheck, webhooks).
        busy_now = {rec["id"] for rec in pending}
        self.store.close_busy_letters(
            target.table, [rec["id"] for rec in records if rec["id"] not in busy_now]
        )
        for rec in pending:
            error = "BUSY: the record stayed locked; it is read again on the next pass"
            stats.errors.append({"id": rec["id"], "error": error})
            self.store.note_pull_error(target.table, rec["id"], error, rec)
        return [rec["id"] for rec in pending]

    def _as_associated(
        self, target: Target, records: list[dict[str, Any]], stats: TargetStats
    ) -> list[dict[str, Any]]:
        """Bookings as HubSpot holds them: a booking's exam and contact are its associations
        (a booking made in HubSpot's UI may lack the ``associated_mock_exam`` and
        ``associated_contact_id`` properties, or an admin re-associated it without editing
        them). Where exactly one association of a kind exists and the property is missing or
        differs, the association wins and the difference is reported (``reassociated``); with
        several, the property stays if it names one of them, else the booking is reported and
        left to the properties. Returns copies; the records read are not changed."""
        ids = [str(r["id"]) for r in records]
        found = {
            prop: self._fetch(lambda to=to: self.reader.client.associations(
                target.object_type, to, ids))
            for prop, to in (("associated_mock_exam", self.exam_type),
                             ("associated_contact_id", CONTACTS))
        }
        out = []
        for rec in records:
            props = dict(rec.get("properties") or {})
            for prop, by_id in found.items():
                linked = sorted({to for to, _ in by_id.get(str(rec["id"]), [])})
                held = (props.get(prop) or "").strip()
                if not linked or held in linked:
                    continue
                if len(linked) > 1:
                    stats.reassociated.append({"id": rec["id"], "property": prop,
                                               "value": held or None, "associations": linked,
                                               "applied": False})
                    continue
                props[prop] = linked[0]
                stats.reassociated.append({"id": rec["id"], "property": prop,
                                           "value": held or None, "associations": linked,
                                           "applied": True})
            out.append({**rec, "properties": props})
        return out

    def _relink_merged(self, records: list[dict[str, Any]], stats: TargetStats) -> None:
        """A contact HubSpot merged into another: the survivor lists the local contact's old id
        in ``hs_merged_object_ids`` (https://knowledge.hubspot.com/records/merge-records). The
        local contact is re-linked to the survivor first (``relink_contact``, as the push does),
        so the survivor is applied to it instead of failing on its student_id and every admin
        change on the survivor being lost until the push re-links."""
        survivor: dict[str, str] = {}
        for rec in records:
            for old in (rec["properties"].get(MERGED_IDS) or "").split(";"):
                if old.strip() and old.strip() != rec["id"]:
                    survivor[old.strip()] = rec["id"]
        if not survivor:
            return
        for row in self.store.contacts_linked_to(sorted(survivor)):
            old, new = row["hubspot_id"], survivor[row["hubspot_id"]]
            why = f"HubSpot contact {old} was merged into {new}"
            try:
                self.store.relink_contact(row["id"], new, f"{self.actor}: {why}")
            except psycopg.errors.UniqueViolation:
                self._merge_refused(row, new, why, stats)
                continue
            log.info("%s (contact re-linked)", why)

    def _merge_refused(self, row: dict[str, Any], new: str, why: str, stats: TargetStats) -> None:
        """A merged-away contact whose survivor is another local student's: a pull dead letter
        of the merged-away contact (its HubSpot id, as its trace finds it), kept open on every
        pass until the students are merged by hand and the letter discarded."""
        other = [r["student_id"] for r in self.store.contacts_linked_to([new])]
        error = (f"MERGED: {why}, which is linked to another local student "
                 f"({', '.join(str(o) for o in other) or 'unknown'}): merge the two students by "
                 "hand")
        stats.errors.append({"id": row["hubspot_id"], "error": error})
        self.store.note_pull_error(
            CONTACTS_TABLE, row["hubspot_id"], error,
            {"student_id": row["student_id"], "hubspot_id": row["hubspot_id"], "merged_into": new})

    def gone_exams(self, target: Target, ids: list[str]) -> list[dict[str, Any]]:
        """The exams a read by id no longer returns, as archived records: read again archived,
        for when HubSpot archived (deleted) them (``archivedAt``: apply_pulled_exams stores it,
        so a read made before the deletion never reopens the exam); an id not found archived
        either (merged away) is marked archived without it."""
        if not ids:
            return []
        archived = self._fetch(
            lambda: self.reader.read(
                target.object_type, ids, properties=target.properties, archived=True
            )
        )
        for rec in archived:
            rec["archived"] = True
        found = {r["id"] for r in archived}
        return archived + [
            {"id": i, "properties": {}, "archived": True} for i in ids if i not in found
        ]

    def recheck(self, target: Target, since: Any, stats: TargetStats) -> None:
        """Read again, by id, the records with an open pull dead letter."""
        ids = self.store.recheck_ids(target.table, since)
        if not ids:
            return
        records = self._fetch(
            lambda: self.reader.read(target.object_type, ids, properties=target.properties)
        )
        found = {r["id"] for r in records}
        if target.name == "exams":  # an exam gone from HubSpot is archived there
            records += self.gone_exams(target, [i for i in ids if i not in found])
        else:
            # a contact or booking gone from HubSpot (deleted, merged away) has nothing left to
            # apply: a BUSY letter of it would stay open for ever
            self.store.close_busy_letters(target.table, [i for i in ids if i not in found])
        if records:
            self.apply(target, records, stats)

    # ---- one pass ---------------------------------------------------------------------------
    def run(self, target: Target, *, full: bool = False) -> TargetStats:
        """One pass over ``target``: records modified since its cursor (minus the overlap, or
        after its edge: glue/sync/pull_edge.py), or every record with ``full``. A stop
        (``self.stop``) ends it after the pages fetched, its cursor saved: the next pass resumes
        there."""
        stats = TargetStats()
        saved = self.store.get_cursor(target.sync_type) or {}
        # the database's time, which pull_recheck_ids compares with its own (never this host's)
        started = self.store.now()
        previous_start = saved.get("pass_started_at")
        edge = (None if full or "since_ms" not in saved or "tie_id" in saved
                else Edge.from_cursor(saved, self.overlap_ms))
        if full or "since_ms" not in saved:
            since = 0
        elif edge is not None:
            since = edge.until_ms + 1  # what changed after the newest record applied
        else:
            since = max(0, int(saved["since_ms"]) - self.overlap_ms)
        read: dict[str, int] = {}  # {id: modification ms} of the records this pass read
        try:
            if not full:
                self.recheck(target, previous_start, stats)
            # how many records the edge's window holds now (asked before what is newer is read)
            window = self._count(target, edge) if edge is not None else None
            self._read(target, since, stats, started, read)
            if (edge is not None and window is not None and not self._stopped(stats)
                    and not edge.unchanged(window, read)):
                # a record appeared in the window late (search is eventually consistent): read
                # the window again, as a pass without an edge does
                self._read(target, edge.since_ms, stats, started, read)
            # the pages may have ended for a stop: the next pass resumes, no housekeeping now
            if not self._stopped(stats):  # ended normally: its edge for the next pass
                base = edge or Edge(0 if full else int(saved.get("since_ms") or 0),
                                    self.overlap_ms)
                after = base.advanced(read)
                self.store.save_cursor(target.sync_type, {
                    "since_ms": after.until_ms, "pass_started_at": started.isoformat(),
                    EDGE: after.as_cursor()})
            if target.name == "exams" and not stats.stopped:
                self._exam_housekeeping(target, stats)
        except Stopped:  # a stop ended a call of the pass: it resumes from its cursor
            stats.stopped = True
        except HubSpotError as exc:
            stats.failed = str(exc)
            stats.transient = exc.transient
            log.warning("pull of %s stopped: %s (it resumes from its cursor)", target.name, exc)
        error = stats.failed or (
            f"{len(stats.errors)} record(s) not applied (see mockbook dlq list)"
            if stats.errors
            else None
        )
        self.store.record_run(
            target.sync_type, "failed" if stats.failed else "success", stats.read, error
        )
        return stats

    def _stopped(self, stats: TargetStats) -> bool:
        """Whether a stop ended the pass's pages (``stats.stopped`` set, from then on)."""
        stats.stopped = stats.stopped or (self.stop is not None and self.stop.is_set())
        return stats.stopped

    def _count(self, target: Target, edge: Edge) -> int:
        """How many records HubSpot's search finds modified within the edge's window now."""
        groups = [[{"propertyName": target.lastmod, "operator": "GTE", "value": str(edge.since_ms)},
                   {"propertyName": target.lastmod, "operator": "LTE",
                    "value": str(edge.until_ms)}]]
        page = self._fetch(lambda: self.reader.search(
            target.object_type, groups, properties=("hs_object_id",), limit=1))
        return page.total

    def _read(self, target: Target, since: int, stats: TargetStats, started: datetime,
              read: dict[str, int]) -> None:
        """Read and apply every page of records modified at or after ``since``, saving the
        cursor after each group of pages; ``read`` gets each record's modification time. A
        stop ends the pages after those fetched, applied in the same groups, the last one
        however many pages it has. A HubSpotError keeps the pages read before it (applied,
        their cursor saved)."""
        # bookings: one associations batch read per kind for several pages
        group = (MAX_ASSOCIATION_READ // self.page_size
                 if target.name == "bookings" and self.exam_type is not None else 1)
        held: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None  # the cursor after the pages held

        def flush() -> None:
            """Apply the pages held, then save the cursor after them."""
            nonlocal held, last
            if held:
                self.apply(target, held, stats)
            if last is not None:
                last["pass_started_at"] = started.isoformat()
                self.store.save_cursor(target.sync_type, last)
            held, last = [], None
            if self.progress is not None:
                self.progress(target.name, stats.read, stats.total)

        try:
            pages_held = 0
            for records, cursor, total in self.pages(target, since, None):
                if stats.total is None:
                    stats.total = total
                stats.pages += 1
                stats.read += len(records)
                read.update(modified_ms(records, target.lastmod))
                held.extend(records)
                last, pages_held = cursor, pages_held + 1
                # a stop changes nothing here: the pages it lets come (those fetched) are
                # grouped as without it, each group reading its associations once
                if pages_held >= group or "tie_id" not in cursor:
                    flush()
                    pages_held = 0
            if last is not None:  # a stop ended the pages before the last one
                self._stopped(stats)
                flush()
        except HubSpotError:
            if held:  # the pages read before the failure are kept
                with contextlib.suppress(HubSpotError):
                    flush()
            raise

    def _exam_housekeeping(self, target: Target, stats: TargetStats) -> None:
        archived = list(self._fetch(lambda: list(self.reader.archived(target.object_type))))
        for start in range(0, len(archived), SEARCH_PAGE):
            self.apply(target, archived[start : start + SEARCH_PAGE], stats)
        stats.activated += self.store.activate_due_exams(self.actor)
        if self.prerequisite_type is not None:
            self.pull_prerequisites(target, stats)

    def prerequisite_lists(self, object_type: str, exam_ids: list[str]) -> dict[str, list[str]]:
        """{exam id: its prerequisite exam ids} from HubSpot's exam->exam associations of the
        prerequisite type (from the exam to each prerequisite); every exam asked is in the
        answer (an empty list: none)."""
        found = self._fetch(
            lambda: self.reader.client.associations(object_type, object_type, exam_ids)
        )
        return {
            hid: sorted(
                {to for to, types in found.get(hid, []) if self.prerequisite_type in types},
                key=lambda x: (len(x), x),
            )
            for hid in exam_ids
        }

    def pull_prerequisites(self, target: Target, stats: TargetStats) -> None:
        """Prerequisites are exam->exam associations in HubSpot, whose changes do not move an
        exam's last-modification date: every pass reads them for every local exam (1,000 per
        call) and applies the complete lists (``apply_pulled_prerequisites``: a local change
        not pushed yet is kept, and an exam is only ever set to what HubSpot lists)."""
        ids = [r["hubspot_id"] for r in self.store.local_state(target.table) if r["hubspot_id"]]
        if not ids:
            return
        lists = self.prerequisite_lists(target.object_type, ids)
        result = self.store.apply_prerequisites(lists, self.actor)
        stats.prerequisites += int(result.get("updated") or 0)


def pull(
    db: Database,
    client: HubSpotClient,
    settings: Settings,
    *,
    only: tuple[str, ...] = ("exams", "contacts"),
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    reader: HubSpotReader | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
    clock: Clock = SYSTEM,
) -> PullStats:
    """One ``mockbook pull`` (and the pull step of ``run``): exams first (contacts' bookings
    need them), then contacts. Each target records its run in sync_metadata. A stop ends it
    after the page in hand."""
    started = time.monotonic()
    reader = reader or HubSpotReader.from_settings(client, settings)
    puller = Puller(
        db,
        reader,
        overlap_seconds=overlap_seconds,
        progress=progress,
        sleep=sleep,
        clock=clock,
        prerequisite_type=settings.prerequisite_association_type_id,
        stop=stop,
    )
    stats = PullStats()
    all_targets = targets(settings)
    for name in ("exams", "contacts"):
        if stop is not None and stop.is_set():
            break
        if name in only:
            stats.targets[name] = puller.run(all_targets[name])
    stats.seconds = round(time.monotonic() - started, 3)
    return stats
