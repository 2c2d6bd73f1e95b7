"""The push's exams: ``total_bookings`` (and ``capacity`` when it was changed here) written to
HubSpot by id (``batch/update``), and the prerequisites changed here written as exam->exam
associations (created and removed). HubSpot owns exams: one deleted here is not pushed.
"""

from __future__ import annotations

import uuid
from typing import Any

from glue.config import Settings
from glue.hubspot.catalogue import SYNCED, hubspot_value
from glue.hubspot.client import MAX_ASSOCIATION_BATCH, MAX_BATCH
from glue.sync.pull import to_ms
from glue.sync.push.records import EXAMS_TABLE, Work, chunks
from glue.sync.push.send import Sender
from glue.sync.push.settle import Settler

# The exam properties the push writes (the catalogue): total_bookings, capacity.
EXAM_PROPERTIES = SYNCED["exams"].select(writes="push")


class ExamPush:
    """Step 3 of a batch (:class:`glue.sync.push.pusher.Pusher`): its exams."""

    def __init__(self, settings: Settings, sender: Sender, settler: Settler) -> None:
        self.settings = settings
        self.exams_type = settings.exams_object_type
        self.hubspot = sender.hubspot
        self.sender = sender
        self.settler = settler
        # {trace: HubSpot's modification time of the exam's write (epoch ms, from its answer)}:
        # written back with the rows, so that a pull never applies a read HubSpot made before
        # this write (the ordering is HubSpot's own clock, never a glue host's)
        self.modified: dict[str, int] = {}

    @staticmethod
    def changed(work: Work, column: str) -> bool:
        """Whether one of the work's outbox rows is a local change of ``column``."""
        return any(
            r.get("old_data") is not None
            and r.get("new_data") is not None
            and r["old_data"].get(column) != r["new_data"].get(column)
            for r in work.rows
        )

    def push(self, works: list[Work]) -> None:
        gone = [w for w in works if w.state is None]
        if gone:  # HubSpot owns exams: a local delete is not pushed
            self.settler.complete(gone, {})
        live = [w for w in works if w.state is not None]

        prerequisites: list[Work] = []

        def update(chunk: list[Work]) -> None:
            result = self.hubspot.update(
                self.exams_type,
                [
                    {
                        "id": w.state["hubspot_id"],
                        "properties": self._exam_properties(w),
                        "trace": w.trace,
                    }
                    for w in chunk
                ],
            )
            failed = self.sender.errors_by_work(result, chunk, lambda w: [w.state["hubspot_id"]])
            self.settler.fail_per_record(failed)
            ok = self.sender.confirmed(result, chunk, failed)
            self.modified.update(self.modified_at(result.results, ok))
            later = [w for w in ok if self.changed(w, "prerequisite_exam_ids")]
            prerequisites.extend(later)
            now = [w for w in ok if w not in later]
            self.complete(now)

        for chunk in chunks(live, MAX_BATCH):
            self.sender.run_chunk(chunk, update)
        for chunk in chunks(prerequisites, MAX_ASSOCIATION_BATCH // 2):
            self.sender.run_chunk(chunk, self._push_prerequisites)

    @staticmethod
    def modified_at(results: list[dict[str, Any]], works: list[Work]) -> dict[str, int]:
        """{trace: epoch ms} of the works HubSpot's answer gives a modification time for
        (``updatedAt``, else ``hs_lastmodifieddate``)."""
        by_id = {str(w.state["hubspot_id"]): w.trace for w in works}
        found = {}
        for rec in results:
            if not isinstance(rec, dict) or str(rec.get("id")) not in by_id:
                continue
            props = rec.get("properties") if isinstance(rec.get("properties"), dict) else {}
            at = to_ms(rec.get("updatedAt")) or to_ms(props.get("hs_lastmodifieddate"))
            if at is not None:
                found[by_id[str(rec["id"])]] = at
        return found

    def complete(self, works: list[Work]) -> None:
        self.settler.complete(
            works,
            {EXAMS_TABLE: {w.trace: w.state["hubspot_id"] for w in works}},
            {w.trace: self.modified.pop(w.trace) for w in works if w.trace in self.modified},
        )

    def _exam_properties(self, work: Work) -> dict[str, str]:
        """What Postgres owns always (total_bookings); what HubSpot owns only when it was
        changed here (capacity, set_exam_capacity): an admin's capacity edit in HubSpot not pulled
        yet is not written over by an exam queued for its booking count."""
        props = {}
        for prop in EXAM_PROPERTIES:
            if prop.owner == "postgres":
                props[prop.name] = hubspot_value(work.state.get(prop.local) or 0)
            elif self.changed(work, prop.local):
                props[prop.name] = hubspot_value(work.state.get(prop.local))
        return props

    def _push_prerequisites(self, chunk: list[Work]) -> None:
        """Write the exams' prerequisite lists as exam->exam associations of the prerequisite
        type (HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID, USER_DEFINED, from the exam to each
        prerequisite, as the original admin app writes them): read what HubSpot has, create the
        missing ones, remove that type from the others (``batch/labels/archive``: any other
        association between the two exams stays)."""
        type_id = self.settings.prerequisite_association_type_id
        ids = [str(w.state["hubspot_id"]) for w in chunk]
        current = self.hubspot.associations(self.exams_type, self.exams_type, ids)
        create: list[tuple[str, str]] = []
        remove: list[tuple[str, str]] = []
        for work in chunk:
            hid = str(work.state["hubspot_id"])
            want = {str(x) for x in work.state.get("prerequisite_exam_ids") or []}
            have = {to for to, types in current.get(hid, []) if type_id in types}
            create += [(hid, to) for to in sorted(want - have)]
            remove += [(hid, to) for to in sorted(have - want)]
        failed: dict[tuple[str, uuid.UUID], tuple[Work, str]] = {}
        if create:
            result = self.hubspot.associate(self.exams_type, self.exams_type, create, type_id)
            failed = self.sender.errors_by_work(
                result,
                chunk,
                lambda w: [
                    str(w.state["hubspot_id"]),
                    *map(str, w.state.get("prerequisite_exam_ids") or []),
                ],
            )
        if remove:
            self.hubspot.dissociate_labels(self.exams_type, self.exams_type, remove, type_id)
        self.settler.fail_per_record(failed)
        ok = [w for w in chunk if (w.table, w.record_id) not in failed]
        self.complete(ok)
