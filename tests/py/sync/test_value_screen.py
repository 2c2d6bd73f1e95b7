"""One value screen for every way a HubSpot record comes in (pull, webhooks, import, reconcile
--repair), table-driven: every property the pull reads x every class of hostile value x every
path, each case on a record of its own, all in one pass per path.

- a value that is not a string (HubSpot sends every property value as a string: an object, an
  array, a boolean come from a proxy or a bug, never from HubSpot) and a date that does not exist
  in a date property: the record is refused, a pull dead letter names the record, the property
  and the code (INVALID_ARGUMENT), and the local row is unchanged;
- an empty name or credit value: unknown, never a new value: the local name or balance is kept
  (the pull reports it in ``blank``), no dead letter; the import, which has no local row, takes
  it as the empty profile and the balance 0 it always was;
- a student id another contact holds: a dead letter DUPLICATE_KEY naming the property.

The sandbox cannot hold a non-string value; a rewrite of its answers (``faults.rewrite``, what a
proxy could do) turns marker strings into them.
"""

from __future__ import annotations

from typing import Any

import push_helpers
import pytest
import sandbox_fixtures
from pull_helpers import fast, hubspot, one, open_db, q, seed_contacts, seed_exams

from glue.credit_fields import CREDIT_FIELDS
from glue.sandbox import CONTACTS, EXAMS, Sandbox
from glue.sync.importer import run_import
from glue.sync.pull import CONTACT_PROPERTIES, EXAM_PROPERTIES, pull
from glue.sync.reconcile import reconcile

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

MARKERS: dict[str, Any] = {
    "hostile:object": {"HOSTILE": "x"},
    "hostile:array": ["HOSTILE"],
    "hostile:boolean": True,
}
NOT_A_STRING = {"object": "hostile:object", "array": "hostile:array", "boolean": "hostile:boolean"}
# what the sandbox owns (it rewrites them on every change): not HubSpot data an admin edits
OWNED = {"lastmodifieddate", "hs_lastmodifieddate"}
DATES = {"exam_date", "ndecc_exam_date", "scheduled_activation_datetime"}
NAMES_AND_BALANCES = {"firstname", "lastname", *(f.name for f in CREDIT_FIELDS)}
COMPARED = {
    EXAMS: ("mock_exam_name", "mock_type", "exam_date", "start_time", "end_time", "location",
            "capacity", "is_active", "mock_set"),
    CONTACTS: ("email", "student_id", "firstname", "lastname", "ndecc_exam_date",
               *(f.name for f in CREDIT_FIELDS)),
}


def _cases() -> list[tuple[str, str, str, str]]:
    """(object, property, class, value): the table."""
    cases = []
    for kind, props in ((EXAMS, EXAM_PROPERTIES), (CONTACTS, CONTACT_PROPERTIES)):
        for prop in props:
            if prop in OWNED:
                continue
            for name, marker in NOT_A_STRING.items():
                cases.append((kind, prop, name, marker))
            if prop in DATES:
                cases.append((kind, prop, "impossible date", "2026-02-30"))
            if prop in NAMES_AND_BALANCES:
                cases.append((kind, prop, "empty", ""))
    cases.append((CONTACTS, "student_id", "duplicate", "VS-DUP-OWNER"))
    return cases


CASES = _cases()


def _rewrite(_method: str, _path: str, _status: int, body: Any) -> Any:
    """Every marker string of a property value becomes the value it stands for."""
    if isinstance(body, dict):
        out = {}
        for key, value in body.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {k: MARKERS.get(v, v) if isinstance(v, str) else v
                            for k, v in value.items()}
            else:
                out[key] = _rewrite(_method, _path, _status, value)
        return out
    if isinstance(body, list):
        return [_rewrite(_method, _path, _status, v) for v in body]
    return body


def _seed(sb: Sandbox) -> dict[int, str]:
    """One record per case (and the duplicate's owner): {case index: HubSpot id}."""
    ids: dict[int, str] = {}
    exam_cases = [i for i, c in enumerate(CASES) if c[0] == EXAMS]
    contact_cases = [i for i, c in enumerate(CASES) if c[0] == CONTACTS]
    for i, hid in zip(exam_cases, seed_exams(sb, [
        {"mock_exam_name": f"Screened {i}", "capacity": "10"} for i in exam_cases
    ]), strict=True):
        ids[i] = hid
    seeded = seed_contacts(sb, [
        {"student_id": f"VS{i}", "firstname": f"First{i}", "lastname": f"Last{i}",
         "sj_credits": "4", "cs_credits": "4", "sjmini_credits": "4",
         "mock_discussion_token": "4", "shared_mock_credits": "4",
         "ndecc_exam_date": "2027-01-15"}
        for i in contact_cases
    ] + [{"student_id": "VS-DUP-OWNER"}])
    for i, hid in zip(contact_cases, seeded, strict=False):
        ids[i] = hid
    return ids


def _local(url: str, kind: str, hid: str) -> dict[str, Any] | None:
    table = "hubspot_mock_exams" if kind == EXAMS else "hubspot_contact_credits"
    rows = q(url, f"SELECT * FROM hubspot_sync.{table} WHERE hubspot_id = %s", (hid,))
    return {c: rows[0][c] for c in COMPARED[kind]} if rows else None


def _letter(url: str, hid: str) -> str | None:
    return one(url, "SELECT string_agg(error, ' | ') FROM hubspot_sync.sync_errors "
                    "WHERE direction = 'pull' AND NOT resolved AND entity_id = %s", (hid,))


def _edit(sb: Sandbox, ids: dict[int, str]) -> None:
    for i, (kind, prop, _, value) in enumerate(CASES):
        sb.touch(kind, ids[i], **{prop: value})


def _check(url: str, ids: dict[int, str], before: dict[int, Any], *, imported: bool) -> None:
    problems = []
    for i, (kind, prop, klass, _) in enumerate(CASES):
        hid = ids[i]
        letter = _letter(url, hid) or ""
        after = _local(url, kind, hid)
        case = f"{kind} {prop} {klass}"
        if klass == "empty":
            if letter:
                problems.append(f"{case}: dead letter {letter}")
            if imported:
                expected = None if prop in ("firstname", "lastname") else 0
                if after is None or after[prop] != expected:
                    problems.append(f"{case}: imported as {after}")
            elif after != before[i]:
                problems.append(f"{case}: {before[i]} -> {after}")
            continue
        if klass == "duplicate":
            code = "DUPLICATE_KEY: property student_id"
        elif klass == "impossible date":
            code = f"INVALID_ARGUMENT: property {prop} is not a date that exists"
        else:
            shown = klass if klass == "boolean" else f"JSON {klass}"
            code = f"INVALID_ARGUMENT: property {prop} is a {shown}, not a string"
        if code not in letter:
            problems.append(f"{case}: dead letter {letter!r}, expected {code!r}")
        if after != (None if imported else before[i]):
            problems.append(f"{case}: {before.get(i)} -> {after}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("path", ["pull", "webhooks", "import", "repair"])
def test_every_pulled_field_every_hostile_value_every_path(
    push_db: str, sandbox: Sandbox, path: str
) -> None:
    fast(sandbox)
    sandbox.faults.rewrite = _rewrite
    settings, client, reader = hubspot(push_db, sandbox)
    ids = _seed(sandbox)
    with open_db(push_db) as db:
        if path == "import":
            _edit(sandbox, ids)
            run_import(db, client, settings, reader=reader)
            _check(push_db, ids, {}, imported=True)
            return
        first = pull(db, client, settings, reader=reader)
        assert all(not t.errors for t in first.targets.values()), first.as_dict()
        before = {i: _local(push_db, CASES[i][0], ids[i]) for i in range(len(CASES))}
        if path == "pull":
            _edit(sandbox, ids)
            stats = pull(db, client, settings, reader=reader)
            blank = {(b["id"], b["field"]) for b in stats.targets["contacts"].blank}
            assert blank == {
                (ids[i], prop) for i, (_, prop, klass, _) in enumerate(CASES) if klass == "empty"
            }
        elif path == "repair":
            _edit(sandbox, ids)
            reconcile(db, client, settings, repair=True, reader=reader)
        else:
            from test_webhooks import Harness, wait_for

            h = Harness.__new__(Harness)  # the service and sender only: the world is seeded
            _serve(h, push_db, sandbox, settings, reader)
            try:
                _edit(sandbox, ids)
                wait_for(h.settled, timeout=120)
            finally:
                h.close()
    _check(push_db, ids, before, imported=False)


def _serve(h: Any, url: str, sb: Sandbox, settings: Any, reader: Any) -> None:
    from test_webhooks import SECRET

    from glue.db.database import Database
    from glue.sandbox.webhooks import attach
    from glue.sync.webhooks import WebhookConfig, WebhookService

    h.url, h.sb, h.settings, h.reader = url, sb, settings, reader
    h.db = Database(settings.database_url)
    h.service = WebhookService(settings, settings.database_url, WebhookConfig(secret=SECRET),
                               reader=reader)
    port = h.service.start()
    h.sender = attach(sb, f"http://127.0.0.1:{port}/webhooks/hubspot", SECRET,
                      retry_delays=(0.2,) * 9)
