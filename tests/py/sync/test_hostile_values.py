"""Hostile values read from HubSpot are quarantined, never blocking: a record holding a value
PostgreSQL cannot store (a NUL, an unpaired surrogate), longer than mockbook takes, or a number
out of range is refused on its own, with a dead letter naming the record, the property and why,
while the legitimate edits of the same pull land. The webhook path, the import and the push's
credit merge go through the same screen (glue.hubspot.wire, as it decodes each answer; the
dead letters are glue.db.pull's)."""

from __future__ import annotations

import json

import push_helpers
import pytest
import sandbox_fixtures
from pull_helpers import (
    contact,
    exam,
    fast,
    hubspot,
    one,
    open_db,
    q,
    seed_contacts,
    seed_exams,
)

from glue.hubspot import wire
from glue.sandbox import CONTACTS, EXAMS, Sandbox
from glue.sync.importer import run_import
from glue.sync.pull import pull
from glue.sync.push import push

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

MILLION = "x" * 1_000_000
# (object, property, hostile value, what the dead letter says)
CASES = [
    (EXAMS, "location", "mississ\x00auga", "NUL"),
    (EXAMS, "mock_exam_name", "Clinical\x00Skills", "NUL"),
    (EXAMS, "start_time", "09:\x0000", "NUL"),
    (EXAMS, "mock_exam_name", MILLION, "1,000,000 characters"),
    (EXAMS, "mock_exam_name", "y" * 256, "at most 255"),
    (EXAMS, "location", "z" * 65_537, "at most 255"),
    (EXAMS, "mock_exam_name", "Clinical \ud800 Skills", "surrogate"),
    (EXAMS, "location", "\udfff", "surrogate"),
    (EXAMS, "capacity", "NaN", "not a whole number"),
    (EXAMS, "capacity", "Infinity", "not a whole number"),
    (EXAMS, "capacity", "1e12", "not a whole number"),
    (EXAMS, "capacity", "99999999999", "not a whole number"),
    (EXAMS, "capacity", "-5", "not a whole number"),
    (EXAMS, "capacity", "1_000", "not a whole number"),
    (EXAMS, "exam_date", "2026-13-45", "exam_date"),
    (CONTACTS, "lastname", "a\x00b", "NUL"),
    (CONTACTS, "firstname", "\x00", "NUL"),
    (CONTACTS, "firstname", MILLION, "1,000,000 characters"),
    (CONTACTS, "lastname", "Smith\udbff", "surrogate"),
    (CONTACTS, "email", "e" * 250 + "@x.io", "at most 254"),
    (CONTACTS, "sj_credits", "NaN", "not a whole number"),
    (CONTACTS, "sj_credits", "1e10", "not a whole number"),
    (CONTACTS, "cs_credits", "-1", "not a whole number"),
    (CONTACTS, "sj_credits", "2147483648", "not a whole number"),
    (CONTACTS, "ndecc_exam_date", "2027-01-01\x00", "NUL"),
]


def _id(case: tuple) -> str:
    kind, prop, value, _ = case
    shown = repr(value if len(value) < 12 else f"{value[:4]}...{len(value)}")
    return f"{'exam' if kind == EXAMS else 'contact'}-{prop}-{shown}"


def _seed(sb: Sandbox) -> tuple[list[str], list[str]]:
    exams = seed_exams(sb, [{}, {"location": "toronto"}])
    contacts = seed_contacts(sb, [{"student_id": "H1"}, {"student_id": "H2"}])
    return exams, contacts


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_a_hostile_value_is_quarantined_and_the_rest_of_the_pull_lands(
    push_db: str, sandbox: Sandbox, case: tuple
) -> None:
    kind, prop, value, why = case
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    (exam_a, exam_b), (contact_a, contact_b) = _seed(sandbox)
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        before = exam(push_db, exam_a) if kind == EXAMS else contact(push_db, "H1")
        hostile = exam_a if kind == EXAMS else contact_a
        sandbox.touch(kind, hostile, **{prop: value})
        # the legitimate edits of the same pull: an exam's capacity, a student's credits
        sandbox.touch(EXAMS, exam_b, capacity="15", location="ottawa")
        sandbox.touch(CONTACTS, contact_b, sj_credits="3", lastname="Renamed")
        stats = pull(db, client, settings, reader=reader)
    target = stats.targets["exams" if kind == EXAMS else "contacts"]
    assert stats.ok and target.failed is None
    errors = [e for e in target.errors if e["id"] == hostile]
    assert len(errors) == 1 and prop in errors[0]["error"] and why in errors[0]["error"], errors
    assert {e["id"] for e in target.errors} == {hostile}
    # the legitimate edits landed
    assert (exam(push_db, exam_b)["capacity"], exam(push_db, exam_b)["location"]) == (15, "ottawa")
    assert contact(push_db, "H2")["sj_credits"] == 3
    assert contact(push_db, "H2")["lastname"] == "Renamed"
    # the hostile record is unchanged, and dead-lettered with the property named
    after = exam(push_db, exam_a) if kind == EXAMS else contact(push_db, "H1")
    column = prop if prop != "email" else "email"
    assert after[column] == before[column]
    letters = q(push_db, "SELECT entity_type, error, payload FROM hubspot_sync.sync_errors "
                         "WHERE direction = 'pull' AND NOT resolved AND entity_id = %s",
                (hostile,))
    assert len(letters) == 1 and prop in letters[0]["error"], letters
    assert letters[0]["entity_type"] == (
        "hubspot_mock_exams" if kind == EXAMS else "hubspot_contact_credits")
    assert len(str(letters[0]["payload"])) < 10_000  # a preview, not the million characters


def test_a_quarantined_record_applies_once_fixed_and_its_dead_letter_closes(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    (exam_a, _), _ = _seed(sandbox)
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.touch(EXAMS, exam_a, location="mississ\x00auga")
        pull(db, client, settings, reader=reader)
        assert one(push_db, "SELECT count(*) FROM hubspot_sync.sync_errors "
                            "WHERE NOT resolved AND entity_id = %s", (exam_a,)) == 1
        # a pass without a new edit reads the quarantined record again, by id: still refused
        again = pull(db, client, settings, reader=reader)
        assert [e["id"] for e in again.targets["exams"].errors] == [exam_a]
        sandbox.touch(EXAMS, exam_a, location="mississauga west")
        fixed = pull(db, client, settings, reader=reader)
    assert fixed.targets["exams"].errors == []
    assert exam(push_db, exam_a)["location"] == "mississauga west"
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.sync_errors "
                        "WHERE NOT resolved AND entity_id = %s", (exam_a,)) == 0


def test_the_import_quarantines_the_same_way(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    seed_exams(sandbox, [{"location": "a\x00b"}, {"location": "ottawa"}, {}])
    seed_contacts(sandbox, [{"student_id": "I1", "lastname": "x" * 300}, {"student_id": "I2"}])
    with open_db(push_db) as db:
        result = run_import(db, client, settings, reader=reader)
    summary = result.as_dict()
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_mock_exams") == 2
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_contact_credits") == 1
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.sync_errors "
                        "WHERE direction = 'pull' AND NOT resolved") == 2, summary


def test_the_push_does_not_write_over_a_contact_it_cannot_merge(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    _, (contact_a, _) = _seed(sandbox)
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.touch(CONTACTS, contact_a, lastname="a\x00b", sj_credits="4")
        q(push_db, "SELECT hubspot_sync.adjust_credits(p_student_id => 'H1', "
                   "p_credit_field => 'sj_credits', p_delta => 2, p_reason => 'gift', "
                   "p_actor => 'admin:test')")
        stats = push(db, client, settings)
    assert stats.dead_lettered + stats.retried >= 1
    # HubSpot's value (4) was not overwritten with a balance computed without it
    assert sandbox.get(CONTACTS, contact_a)["properties"]["sj_credits"] == "4"


def test_the_screen_names_the_property_and_keeps_clean_records() -> None:
    clean = {"id": "1", "properties": {"location": "toronto", "capacity": "10"}}
    keep, refused = wire.screen([
        clean,
        {"id": "2", "properties": {"location": "a\x00b"}},
        {"id": "3", "properties": {"notes": "n" * 65_537}},
        {"id": "4", "properties": {}, "associations": {"c": [{"id": "9\x00"}]}},
    ])
    assert keep == [clean]
    assert [(r.record_id, r.field) for r in refused] == [
        ("2", "location"), ("3", "notes"), ("4", "associations.c.0.id")]
    assert "65,536" in refused[1].error
    shown = wire.storable({"id": "2", "properties": {"location": "a\x00b" + "q" * 200}})
    assert "\x00" not in str(shown) and "characters)" in shown["properties"]["location"]


def test_a_record_is_screened_once_as_it_is_decoded() -> None:
    """The decoder's screen is the apply's: every fault a decoded record has (a value that is
    not a string, a value the database cannot take) is found as the answer is decoded, and the
    apply's screen refuses it with the same words as a record made elsewhere."""
    for properties, field, words in (({"location": "a\x00b"}, "location", "NUL"),
                                     ({"capacity": 7}, "capacity", "not a string"),
                                     ({"exam_date": "2026-02-30"}, "exam_date", "exists")):
        made = {"id": "5", "properties": dict(properties)}
        decoded = wire.RECORD.check(json.loads(json.dumps(made)), "results[0]")
        assert decoded["refused"]["property"] == field and words in decoded["refused"]["why"]
        assert decoded["properties"][field] is None or isinstance(decoded["properties"][field],
                                                                  str)
        assert wire.screen([decoded])[1] == wire.screen([made])[1] == [
            wire.Refusal("5", field, decoded["refused"]["why"])]
    clean = wire.RECORD.check({"id": "6", "properties": {"location": "toronto"}}, "")
    assert "refused" not in clean and wire.screen([clean]) == ([clean], [])


def test_the_webhook_path_quarantines_the_same_way(push_db: str, sandbox: Sandbox) -> None:
    from test_webhooks import Harness, wait_for

    h = Harness(push_db, sandbox)
    try:
        bad, good = h.exams
        sandbox.touch(EXAMS, bad, location="mississ\x00auga")
        sandbox.touch(EXAMS, good, capacity="25")
        wait_for(lambda: exam(push_db, good)["capacity"] == 25)
        wait_for(lambda: one(push_db, "SELECT count(*) FROM hubspot_sync.sync_errors WHERE "
                                      "NOT resolved AND entity_id = %s", (bad,)) == 1)
        wait_for(h.settled)
        assert exam(push_db, bad)["location"] == "mississauga"
    finally:
        h.close()
