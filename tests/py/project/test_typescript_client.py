"""The apps' TypeScript types (clients/typescript/) cannot drift from the API.

- database.types.ts is what Supabase's own generator (`@supabase/postgres-meta`, run by `supabase
  gen types typescript`) prints for a freshly migrated database;
- mockbook.types.ts is what glue.db.tstypes renders from the same catalog: the result shapes of
  the functions' comments (the text docs/rpc.md prints) and raise_error's error codes;
- app.ts (the calls docs/apps.md shows) compiles against them, and each wrong call of
  wrong-calls.ts is refused by the compiler on its line, with its error;
- real results of every function returning jsonb have exactly the keys of their documented shape;
- mockbookError and mockbookCall read real PTnnn errors as supabase-js hands them over, and
  nothing else (mockbookCall throws the rest).

The row types' nullable columns are checked against real rows in test_typescript_nulls.py.

The npm packages are installed here when missing (`npm ci`, pinned by package-lock.json).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import doc_blocks
import psycopg
import pytest
from postgrest import RpcError, rpc, rpc_rows

from glue.db import tsshapes, tstypes
from glue.db.tsshapes import Arr, Leaf, Ref, Result, Shape

CLIENT = tstypes.CLIENT_DIR
EXPECT = re.compile(r"//\s*@ts-expect-error\s+(TS\d{4}):")
DIAGNOSTIC = re.compile(r"^(?P<file>[^(\s][^(]*)\((?P<line>\d+),\d+\): error (?P<code>TS\d{4}):",
                        re.M)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return tstypes.ensure_node_modules()


def _node_major(spec: Any) -> int:
    """The least Node major an engines spec (">=22.0.0", ">= 10") lets in; 0 for none."""
    found = re.search(r">=?\s*(\d+)", spec if isinstance(spec, str) else "")
    return int(found[1]) if found else 0


def test_the_node_it_declares_runs_every_package_it_locks() -> None:
    """package.json's engines.node (and the lock's copy of it) is at least what each locked
    package declares: a Node the folder accepts can run supabase-js."""
    declared = json.loads((CLIENT / "package.json").read_text())["engines"]["node"]
    lock = json.loads((CLIENT / "package-lock.json").read_text())["packages"]
    assert lock[""]["engines"]["node"] == declared
    needs = {name: _node_major((p.get("engines") or {}).get("node"))
             for name, p in lock.items() if name and isinstance(p.get("engines"), dict)}
    above = sorted(name for name, major in needs.items() if major > _node_major(declared))
    assert above == [], (declared, above)


def test_database_types_are_supabases_generators(node_modules: Path, database_url: str) -> None:
    """The committed database.types.ts is postgres-meta's output for a freshly migrated
    database (after a schema change: make types)."""
    generated = tstypes.database_types(database_url)
    assert "p_mock_exam_id: string" in generated
    assert generated == tstypes.DATABASE_TYPES.read_text(), (
        "clients/typescript/database.types.ts is stale: run make types")


def test_mockbook_types_are_the_catalogs(db: psycopg.Connection) -> None:
    """The committed mockbook.types.ts is rendered from the catalog's comments and error table
    (after editing a COMMENT ON FUNCTION or the error table: make types)."""
    assert tstypes.mockbook_types(db) == tstypes.MOCKBOOK_TYPES.read_text(), (
        "clients/typescript/mockbook.types.ts is stale: run make types")


def test_every_error_code_is_in_the_union(db: psycopg.Connection) -> None:
    """MockbookErrorCode is raise_error's table, each code with its SQLSTATE."""
    text = tstypes.MOCKBOOK_TYPES.read_text()
    union = text.split("export type MockbookErrorCode =", 1)[1].split("\n\n", 1)[0]
    errors = tstypes.error_codes(db)
    assert len(errors) >= 19 and "EXAM_FULL" in errors
    assert re.findall(r"\| '([A-Z_]+)'", union) == list(errors)
    table = text.split("export const MOCKBOOK_ERRORS", 1)[1].split("}\n", 1)[0]
    assert dict(re.findall(r"\b([A-Z_]+): '(PT\d{3})'", table)) == errors


def expected_errors(path: Path) -> dict[int, str]:
    """Line number → TS error code: the line after each `// @ts-expect-error TSnnnn: ...`."""
    return {n + 1: m.group(1) for n, line in enumerate(path.read_text().splitlines(), 1)
            if (m := EXPECT.search(line))}


def test_app_calls_compile_and_wrong_calls_do_not(node_modules: Path) -> None:
    """One `tsc --noEmit` over the folder (app.ts, wrong-calls.ts with its directives, the
    types), the docs' TypeScript, JavaScript and payload blocks that are not app.ts's own (with
    the names they take from around them declared: tests/py/project/doc_blocks.py) and a copy
    of wrong-calls.ts without the directives: nothing but the copy may have an error, and the
    copy has exactly one on each marked line, of the marked kind (an unknown function, a
    misspelt or missing argument, a wrong type, an unknown result key or error code)."""
    wrong = CLIENT / "wrong-calls.ts"
    expected = expected_errors(wrong)
    assert len(expected) >= 6
    build = Path(tempfile.mkdtemp(prefix="tsc-", dir=CLIENT))
    try:
        copy = build / "wrong-calls-unmarked.ts"
        unmarked = EXPECT.sub("// refused:", wrong.read_text())
        copy.write_text(unmarked.replace("from './", "from '../"))
        docs = doc_blocks.typescript_sources()  # the docs' blocks that are not app.ts's own
        for name, (_, text) in docs.items():
            (build / name).write_text(text)
        (build / "tsconfig.json").write_text(
            '{"extends": "../tsconfig.json", "include": ["../*.ts", "*.ts"]}\n')
        tsc = node_modules / "typescript" / "bin" / "tsc"
        done = subprocess.run(["node", str(tsc), "--noEmit", "--pretty", "false", "-p",
                               str(build)], cwd=CLIENT, capture_output=True, text=True,
                              timeout=300)
    finally:
        shutil.rmtree(build)
    found = [(Path(m["file"]).name, int(m["line"]), m["code"])
             for m in DIAGNOSTIC.finditer(done.stdout)]
    assert done.returncode != 0 and found, done.stdout + done.stderr
    elsewhere = [f for f in found if f[0] != copy.name]
    assert elsewhere == [], "\n".join(
        [*(line for line in done.stdout.splitlines() if copy.name not in line),
         *(f"{name}: {block.where}" for name, (block, _) in docs.items())])
    assert {line: code for _, line, code in found} == expected, done.stdout
    assert len(found) == len(expected), done.stdout


# --- how a comment's result sentence is read -------------------------------------------------

NAMES = {"create_booking", "cancel_booking", "cancel_bookings", "check_idempotency_key"}


@pytest.mark.parametrize(("comment", "shape"), [
    ("Books. Returns `{success, id,\n  booking_id}` (`id` the uuid).",
     "{success: Json, id: Json, booking_id: Json}"),
    ("Returns `{cancelled: [cancel_booking results], skipped: [{booking_id, reason}], "
     "not_found: [ref, …]}`, in order.",
     "{cancelled: CancelBookingResult[], skipped: Array<{booking_id: Json, reason: Json}>, "
     "not_found: Json[]}"),
    ("Returns the `create_booking` result (`credit_field` NULL) plus `over_capacity`.",
     "CreateBookingResult & {over_capacity: Json}"),
    ("Returns `create_booking`'s object plus `moved: {id, status}` and `previous`. Locks: `x`.",
     "CreateBookingResult & {moved: {id: Json, status: Json}, previous: Json}"),
    ("Returns the `cancel_booking` result with production's keys: `success`, `booking_id` "
     "(uuid), `student_id`. Errors: `BUSY`.",
     "CancelBookingResult & {student_id: Json}"),
    ("`{found: true, id}` or NULL. No errors.", "{found: true, id: Json} | null"),
    ("`check_idempotency_key` with `p_x` NULL (same checks, result and errors).",
     "CheckIdempotencyKeyResult"),
])
def test_a_result_sentence_becomes_its_type(comment: str, shape: str) -> None:
    result = tsshapes.parse_result(comment, NAMES)
    bases = {"create_booking": tsshapes.Result(tsshapes.Obj({"credit_field": Leaf()})),
             "cancel_booking": tsshapes.Result(tsshapes.Obj({"success": Leaf(),
                                                           "booking_id": Leaf()}))}
    ts = tstypes._ts(result.shape, "", bases) + (" | null" if result.nullable else "")
    assert " ".join(ts.split()).replace(" }", "}").replace("{ ", "{") == " ".join(
        re.sub(r",", "", shape).split()), ts


@pytest.mark.parametrize("comment", [
    "Cancels the booking and refunds it.",                   # no result sentence
    "Returns `{success, id` and more.",                      # unbalanced
    "Returns `{success, id} and more.",                      # no closing backtick
    "Returns the `unknown_function` result plus `x`.",       # not a function returning jsonb
    "Returns `{success, 2nd}`.",                             # not a key
])
def test_a_result_sentence_that_cannot_be_read_is_refused(comment: str) -> None:
    """make types stops, naming the function, instead of typing a result as something the
    comment does not say."""
    with pytest.raises(tsshapes.ShapeError):
        tsshapes.parse_result(comment, NAMES)


# --- real results against the documented shapes ----------------------------------------------


def mismatches(value: Any, shape: Shape, shapes: dict[str, Result], where: str) -> list[str]:
    """Where value is not of the shape: an object's keys must be exactly the documented ones."""
    if isinstance(shape, Ref):
        return mismatches(value, shapes[shape.function].shape, shapes, where)
    if isinstance(shape, Leaf):
        if shape.literal is not None and value != {"true": True, "false": False,
                                                   "null": None}[shape.literal]:
            return [f"{where}: {value!r} is not {shape.literal}"]
        return []
    if isinstance(shape, Arr):
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not an array"]
        return [p for i, item in enumerate(value)
                for p in mismatches(item, shape.item, shapes, f"{where}[{i}]")]
    keys = tsshapes.keys_of(shape, shapes) or {}
    if not isinstance(value, dict):
        return [f"{where}: {value!r} is not an object"]
    problems = []
    if missing := sorted(set(keys) - set(value)):
        problems.append(f"{where}: documented keys missing from the result: {missing}")
    if extra := sorted(set(value) - set(keys)):
        problems.append(f"{where}: result keys not documented: {extra}")
    return problems + [p for key in keys.keys() & value.keys()
                       for p in mismatches(value[key], keys[key], shapes, f"{where}.{key}")]


def one(db: psycopg.Connection, query: str, *params: Any) -> Any:
    return db.execute(query, params).fetchone()[0]


def email(student: str) -> str:
    return f"{student.lower()}@example.com"


def test_real_results_have_the_documented_shapes(db: psycopg.Connection) -> None:
    """Every function returning jsonb is called (as PostgREST calls it) on a scenario that
    reaches its result, its nested lists filled; each result must have exactly the keys its
    comment documents, which are the keys of its TypeScript type."""
    shapes = tsshapes.result_shapes(db)
    results: dict[str, list[Any]] = {}

    def call(fn: str, **args: Any) -> Any:
        result = rpc(db, fn, **args)
        results.setdefault(fn, []).append(result)
        return result

    def exam(capacity: int, day: int) -> str:
        return one(db, "SELECT tests.make_exam(p_capacity := %s,"
                       " p_exam_date := hubspot_sync.business_today() + %s)", capacity, day)

    def student(sj: int = 3) -> str:
        return one(db, "SELECT tests.make_student(p_sj := %s)", sj)

    def book(sid: str, exam_id: str, key: str) -> dict:
        return call("create_booking", p_student_id=sid, p_email=email(sid),
                    p_mock_exam_id=exam_id, p_idempotency_key=key,
                    p_attending_location="mississauga")

    full, other, third = exam(1, 7), exam(5, 8), exam(5, 9)
    ann, bob, cat = student(), student(), student()
    key = f"shape-{uuid.uuid4()}"
    booked = book(ann, full, key)
    assert call("check_idempotency_key", p_idempotency_key=key)["found"] is True
    assert call("check_idempotency_key", p_idempotency_key=f"none-{uuid.uuid4()}") is None
    assert book(ann, full, key)["idempotent_replay"] is True
    call("join_waitlist", p_student_id=bob, p_email=email(bob), p_mock_exam_id=full,
         p_attending_location="mississauga")
    moved = call("rebook", p_booking_id=booked["id"], p_new_mock_exam_id=other,
                 p_idempotency_key=f"move-{uuid.uuid4()}")
    call("accept_offer", p_student_id=bob, p_email=email(bob), p_mock_exam_id=full)
    call("leave_waitlist", p_student_id=bob, p_mock_exam_id=full)
    call("cancel_booking", p_booking_id=moved["id"], p_student_id=ann,
         p_idempotency_key=f"cancel-{uuid.uuid4()}")
    admin = call("admin_create_booking", p_student_id=cat, p_email=email(cat),
                 p_mock_exam_id=other, p_idempotency_key=f"admin-{uuid.uuid4()}",
                 p_actor="admin:test", p_attending_location="mississauga")
    already = book(ann, third, f"shape-{uuid.uuid4()}")
    call("cancel_booking", p_booking_id=already["id"])
    call("cancel_bookings", p_booking_ids=[admin["id"], already["id"], "BK-00000000-NOSUCH"])
    attended = book(cat, third, f"shape-{uuid.uuid4()}")
    call("mark_attendance", p_updates=[{"booking_id": attended["id"], "attendance": "Yes"},
                                       {"booking_id": attended["booking_id"], "attendance": "Yes"},
                                       {"booking_id": "BK-00000000-NOSUCH", "attendance": "No"},
                                       {"booking_id": moved["id"], "attendance": "Yes"}])
    call("set_exam_capacity", p_mock_exam_id=other, p_capacity=6)
    call("update_exam_prerequisites", p_exam_id=third, p_add_ids=[full])
    call("set_exam_prerequisites", p_exam_id=third, p_prerequisite_ids=[])
    call("adjust_credits", p_student_id=ann, p_credit_field="sj_credits", p_delta=1,
         p_reason="shape check", p_actor="admin:test")
    hold = one(db, "SELECT value FROM hubspot_sync.booking_rules WHERE rule = 'offer_hold_minutes'")
    call("set_booking_rule", p_rule="offer_hold_minutes", p_value=hold)
    zone = one(db, "SELECT mockbook_internal.business_timezone()")
    call("set_business_timezone", p_zone=zone)
    call("set_realtime_broadcasts", p_enabled=False)  # a database without Supabase Realtime
    call("request_refresh", p_mock_exam_id=other)
    call("process_waitlist")
    call("complete_past_bookings")
    dan = student()
    legacy = {"p_booking_id": f"Situational Judgment-{dan}-March 1, 2031", "p_mock_exam_id": other,
              "p_student_id": dan, "p_student_name": "Dan Example", "p_student_email": email(dan),
              "p_attending_location": "Mississauga", "p_dominant_hand": "Right",
              "p_token_used": "Situational Judgment Token", "p_credit_field": "sj_credits",
              "p_new_credit_value": 2}
    first = call("create_booking_atomic", **legacy, p_idempotency_key=f"legacy-{uuid.uuid4()}",
                 p_mock_set="A")
    call("cancel_booking_atomic", p_booking_id=first["booking_id"], p_credit_field="sj_credits",
         p_restored_credit_value=3)
    call("create_booking_atomic_v1", **legacy, p_idempotency_key=f"legacy-{uuid.uuid4()}")

    assert sorted(results) == sorted(shapes), "functions returning jsonb not exercised here"
    problems = [p for fn, values in results.items() for i, value in enumerate(values)
                for p in ([] if value is None and shapes[fn].nullable
                          else mismatches(value, shapes[fn].shape, shapes, f"{fn}#{i}"))]
    assert problems == []
    # the nested lists were filled, so their items were checked too
    batch = results["cancel_bookings"][0]
    assert all(batch[k] for k in ("cancelled", "skipped", "not_found")), batch
    marked = results["mark_attendance"][0]
    assert all(marked[k] for k in ("updated", "skipped", "rejected", "not_found", "exams")), marked


# --- mockbookError, the one function of mockbook.types.ts -----------------------------------

READ_ERRORS = """
import fs from 'node:fs'
import ts from 'typescript'
const source = fs.readFileSync('mockbook.types.ts', 'utf8')
const js = ts.transpileModule(source, { compilerOptions: {
  module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const types = await import('data:text/javascript,' + encodeURIComponent(js))
const errors = JSON.parse(process.argv.at(-1))
const called = []
for (const error of errors) {
  const answer = error ? { data: null, error } : { data: { booking_id: 'BK-1' }, error: null }
  try {
    called.push(await types.mockbookCall(Promise.resolve(answer)))
  } catch (thrown) {
    called.push({ thrown: thrown === error })
  }
}
console.log(JSON.stringify({ read: errors.map((error) => types.mockbookError(error)), called }))
"""


def test_mockbook_error_reads_the_errors_the_functions_raise(
        node_modules: Path, db: psycopg.Connection) -> None:
    """Real errors, as supabase-js hands them over ({code: SQLSTATE, message, details, hint}):
    mockbookError gives a PTnnn error's code and HTTP status, also with the words a
    compatibility function adds to a not-found ('EXAM_NOT_FOUND: exam not found'), and null for
    anything else; mockbookCall answers the same error in PostgREST's fields (`code` the
    SQLSTATE, `message` the code), throws anything else unchanged and passes data through."""
    refused = []
    for fn, args in [
        ("create_booking", {"p_student_id": "NOSUCH1", "p_email": "nosuch1@example.com",
                            "p_mock_exam_id": "NOSUCH", "p_idempotency_key": "k-nosuch"}),
        ("adjust_credits", {"p_student_id": "NOSUCH2", "p_credit_field": "sj_credits",
                            "p_delta": 0, "p_reason": "r", "p_actor": "a"}),
        ("update_exam_prerequisites", {"p_exam_id": "NOSUCH-EXAM", "p_add_ids": []}),
    ]:
        with pytest.raises(RpcError) as caught:
            rpc(db, fn, **args)
        refused.append(caught.value)
    errors = [{"code": e.sqlstate, "message": e.message, "details": e.detail, "hint": e.hint}
              for e in refused]
    errors += [{"code": "PGRST202", "message": "Could not find the function", "details": None,
                "hint": None},
               {"code": "42501", "message": "permission denied for function create_booking"},
               {"code": "PT409", "message": "SOLD_OUT"}, None]
    assert refused[2].message == "EXAM_NOT_FOUND: exam not found"
    done = subprocess.run(["node", "--input-type=module", "-e", READ_ERRORS, json.dumps(errors)],
                          cwd=CLIENT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    read, called = out["read"], out["called"]
    assert read[:3] == [{"code": e.code, "sqlstate": e.sqlstate, "status": e.status,
                         "details": e.detail or "", "hint": e.hint or ""} for e in refused]
    assert [r["code"] for r in read[:3]] == ["CONTACT_NOT_FOUND", "INVALID_ARGUMENT",
                                            "EXAM_NOT_FOUND"]
    assert read[3:] == [None, None, None, None]
    assert called[:3] == [{"data": None, "error": {
        "code": e.sqlstate, "message": e.code, "details": e.detail or "", "hint": e.hint or "",
        "status": e.status}} for e in refused]
    assert [c["error"]["code"] for c in called[:3]] == ["PT404", "PT400", "PT404"]
    assert called[3:] == [{"thrown": True}] * 3 + [{"data": {"booking_id": "BK-1"},
                                                     "error": None}]


# --- acting for a student: the token app.ts signs ------------------------------------------

MINT = """
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import ts from 'typescript'
const [dir, student] = [process.argv.at(-2), JSON.parse(process.argv.at(-1))]
for (const name of ['app', 'mockbook.types', 'realtime.types']) {
  const js = ts.transpileModule(fs.readFileSync(name + '.ts', 'utf8'), { compilerOptions: {
    module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
  fs.writeFileSync(path.join(dir, name + '.mjs'),
                   js.replace("'./mockbook.types'", "'./mockbook.types.mjs'")
                     .replace("'./realtime.types'", "'./realtime.types.mjs'"))
}
const app = await import(pathToFileURL(path.join(dir, 'app.mjs')).href)
console.log(await app.studentToken('a-test-secret', student))
"""


def verified_claims(token: str, secret: str) -> dict[str, Any]:
    """The payload of an HS256 JWT whose signature `secret` verifies (as PostgREST checks it)."""
    def unpad(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    header, payload, signature = token.split(".")
    assert json.loads(unpad(header)) == {"alg": "HS256", "typ": "JWT"}
    expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(unpad(signature), expected), "signature not made with the secret"
    return json.loads(unpad(payload))


def test_a_student_token_makes_the_functions_act_for_that_student(
        node_modules: Path, db: psycopg.Connection) -> None:
    """app.ts's studentToken (what docs/apps.md shows) signs the claims the functions read: as
    PostgREST would run its request, the student reads their own bookings and is refused
    another's (FORBIDDEN), and the ledger names `user:<email>`."""
    ann = one(db, "SELECT tests.make_student(p_sj := 2)")
    bob = one(db, "SELECT tests.make_student(p_sj := 2)")
    exam = one(db, "SELECT tests.make_exam(p_exam_date := hubspot_sync.business_today() + 11)")
    build = Path(tempfile.mkdtemp(prefix="mint-", dir=CLIENT))
    try:
        student = {"userId": str(uuid.uuid4()), "email": email(ann).upper()}
        done = subprocess.run(["node", "--input-type=module", "-e", MINT, str(build),
                               json.dumps(student)], cwd=CLIENT, capture_output=True, text=True,
                              timeout=120)
    finally:
        shutil.rmtree(build)
    assert done.returncode == 0, done.stderr
    claims = verified_claims(done.stdout.strip(), "a-test-secret")
    assert claims.pop("exp") - claims.pop("iat") == 60
    assert claims == {"role": "service_role", "email": student["email"], "sub": student["userId"]}

    request = {k: v for k, v in claims.items() if k != "role"}
    booked = rpc(db, "create_booking", claims=request, p_student_id=ann, p_email=email(ann),
                 p_mock_exam_id=exam, p_idempotency_key=f"student-{uuid.uuid4()}",
                 p_attending_location="mississauga")
    rows = rpc_rows(db, "list_contact_bookings", claims=request, p_student_id=ann)
    assert [r["booking_id"] for r in rows] == [booked["booking_id"]]
    with pytest.raises(RpcError) as refused:
        rpc_rows(db, "list_contact_bookings", claims=request, p_student_id=bob)
    assert (refused.value.code, refused.value.sqlstate) == ("FORBIDDEN", "PT403")
    actor = one(db, "SELECT actor FROM hubspot_sync.credit_ledger WHERE booking_id = %s",
                booked["id"])
    assert actor.lower() == f"user:{email(ann)}"


def test_the_calls_the_apps_page_shows_are_the_compiled_ones() -> None:
    """Each TypeScript block of docs/apps.md that defines something (`export`) is a piece of
    app.ts as it stands, so the documented calls (the booking with mockbookCall, the student's
    token) are the ones tsc compiles above."""
    doc = (tstypes.ROOT / "docs" / "apps.md").read_text()
    blocks = [b for b in re.findall(r"^```ts\n(.*?)^```$", doc, re.S | re.M) if "export " in b]
    assert len(blocks) >= 2
    app = (CLIENT / "app.ts").read_text()
    assert [b.splitlines()[0] for b in blocks if b not in app] == []
    assert any("mockbookCall(" in b for b in blocks) and any("studentToken" in b for b in blocks)
