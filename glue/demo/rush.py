"""The demo's booking traffic (glue/demo/data.py has the data and the checks): every call goes
through the RPC functions exactly as PostgREST makes it (one transaction: role service_role,
JWT claims, request.method, then the function with named arguments), from a psycopg pool that
plays the part of PostgREST's own db-pool. All calls of a phase are submitted at once and
released together by a gate, so they race for the pool's connections as a rush of students
races for PostgREST's.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import psycopg
import tenacity
from psycopg_pool import ConnectionPool

from glue import lifecycle
from glue.db import demo as db
from glue.db.postgrest import request_sql
from glue.demo.data import ACTOR, CS, KEY_PREFIX, Exam, Plan, Student

# ---- calls, exactly as PostgREST makes them ------------------------------------------------------
REQUEST = request_sql("service_role", "POST")


@dataclass
class Call:
    fn: str  # one of the RPC names below, never user input
    args: dict[str, Any]
    exam: str = ""  # the exam's HubSpot id, for the tallies
    resend: bool = False  # the client sends the same request again after its answer


@dataclass
class Answer:
    call: Call
    result: dict[str, Any] | None = None
    code: str | None = None  # mockbook error code; "UNEXPECTED ..." for anything else
    resent: dict[str, Any] | None = None  # the answer to the resend
    resent_code: str | None = None
    busy_retries: int = 0


RPCS = ("create_booking", "cancel_booking", "rebook")


class Runner:
    """A pool of ``connections`` connections and as many threads; ``run(calls)`` submits every
    call at once, then opens the gate: they all race for the pool together."""

    def __init__(self, url: str, connections: int) -> None:
        self.connections = connections
        self.pool = ConnectionPool(
            url,
            min_size=connections,
            max_size=connections,
            open=False,
            kwargs={"autocommit": True, "application_name": "mockbook demo"},
            name="mockbook-demo",
            timeout=60,
            configure=lifecycle.track,  # a stop cancels the statements in hand
        )
        self.as_service_role = True
        self.sleep: Callable[[float], None] = time.sleep  # between BUSY retries

    def __enter__(self) -> Runner:
        self.pool.open(wait=True, timeout=60)
        with self.pool.connection() as conn:
            self.as_service_role = db.is_member_of(conn, "service_role")
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.close()

    def run(self, calls: Sequence[Call], on_done: Callable[[], None] | None = None) -> list[Answer]:
        gate = threading.Event()
        pool = ThreadPoolExecutor(self.connections, thread_name_prefix="demo")
        try:
            futures = [pool.submit(self._one, call, gate) for call in calls]
            gate.set()
            for _ in as_completed(futures):
                if on_done:
                    on_done()
        finally:  # interrupted (a signal): the calls not started yet are dropped
            pool.shutdown(wait=True, cancel_futures=True)
        return [f.result() for f in futures]

    def _one(self, call: Call, gate: threading.Event) -> Answer:
        gate.wait()
        answer = Answer(call)
        with self.pool.connection() as conn:
            answer.result, answer.code = self._send(conn, call, answer)
            if call.resend:
                answer.resent, answer.resent_code = self._send(conn, call, answer)
        return answer

    def _send(self, conn: psycopg.Connection, call: Call, answer: Answer) -> tuple[Any, str | None]:
        """One request; BUSY is retried with the same arguments (and key), as its hint says."""
        assert call.fn in RPCS
        request = REQUEST if self.as_service_role else None

        def send() -> tuple[Any, str | None]:
            try:
                return db.rpc(conn, call.fn, call.args, request), None
            except psycopg.Error as exc:
                if not (exc.sqlstate or "").startswith("PT"):
                    return None, f"UNEXPECTED {exc.sqlstate}: {str(exc).strip().splitlines()[0]}"
                return None, exc.diag.message_primary or exc.sqlstate

        def count_retry(_: tenacity.RetryCallState) -> None:
            answer.busy_retries += 1

        # An answer, not an exception, is retried (retry_if_result); after the 4th BUSY the
        # BUSY answer itself is returned (retry_error_callback), as before tenacity.
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_result(lambda sent: sent[1] == "BUSY"),
            stop=tenacity.stop_after_attempt(4),
            wait=tenacity.wait_incrementing(start=0.05, increment=0.05),
            before_sleep=count_retry,
            sleep=lambda seconds: self.sleep(seconds),
            retry_error_callback=lambda state: state.outcome.result(),
        )
        return retrying(send)


def _booking_args(student: Student, exam: Exam, rng: random.Random) -> dict[str, Any]:
    args: dict[str, Any] = {
        "p_student_id": student.student_id,
        "p_email": student.email,
        "p_mock_exam_id": exam.hubspot_id,
        "p_idempotency_key": f"{KEY_PREFIX}{uuid.UUID(int=rng.getrandbits(128))}",
    }
    if exam.mock_type == CS:
        args["p_dominant_hand"] = rng.choice(("Right", "Right", "Left"))
    else:
        args["p_attending_location"] = exam.location
    return args


def regular_calls(plan: Plan, rng: random.Random) -> list[Call]:
    """The week's ordinary bookings: random students on the large exams."""
    large = [e for e in plan.exams if not e.rush]
    calls = []
    for _ in range(plan.scale.regular_bookings):
        exam, student = rng.choice(large), rng.choice(plan.students)
        calls.append(Call("create_booking", _booking_args(student, exam, rng), exam.hubspot_id))
    return calls


def rush_calls(plan: Plan, rng: random.Random) -> list[Call]:
    """The rush: ``rush_requests`` distinct students, each on one small exam; one in eight
    resends the same request after its answer (a client retry: same key, so a replay when the
    first one booked), and one in twenty-five sends it twice at the same moment (a double
    click: both race, one booking)."""
    rush = [e for e in plan.exams if e.rush]
    students = rng.sample(plan.students, min(plan.scale.rush_requests, len(plan.students)))
    calls = []
    for n, student in enumerate(students):
        exam = rush[n % len(rush)]
        call = Call("create_booking", _booking_args(student, exam, rng), exam.hubspot_id)
        call.resend = n % 8 == 3
        calls.append(call)
        if n % 25 == 7:
            calls.append(Call("create_booking", dict(call.args), exam.hubspot_id))
    rng.shuffle(calls)
    return calls


def cancel_calls(answers: Sequence[Answer], fraction: float, rng: random.Random) -> list[Call]:
    """Students cancel some of their new bookings (their own: p_student_id given; refunded)."""
    booked = {a.result["booking_id"]: a for a in answers if a.result}
    picked = rng.sample(sorted(booked), int(len(booked) * fraction))
    return [
        Call(
            "cancel_booking",
            {
                "p_booking_id": code,
                "p_student_id": booked[code].call.args["p_student_id"],
                "p_reason": "demo: plans changed",
                "p_actor": ACTOR,
            },
            booked[code].call.exam,
        )
        for code in picked
    ]


def second_wave_calls(
    answers: Sequence[Answer], freed: Counter[str], rng: random.Random
) -> list[Call]:
    """Students the rush turned away try again for the freed seats (new keys)."""
    calls = []
    for exam_id, seats in freed.items():
        losers = [a for a in answers if a.code == "EXAM_FULL" and a.call.exam == exam_id]
        for answer in rng.sample(losers, min(len(losers), seats * 3)):
            args = dict(answer.call.args)
            args["p_idempotency_key"] = f"{KEY_PREFIX}{uuid.UUID(int=rng.getrandbits(128))}"
            calls.append(Call("create_booking", args, exam_id))
    return calls


def rebook_calls(plan: Plan, answers: Sequence[Answer], rng: random.Random) -> list[Call]:
    """Some ordinary bookings move to the other large exam of their type (credit moves too)."""
    large = [e for e in plan.exams if not e.rush]
    calls = []
    booked = [a for a in answers if a.result]
    rng.shuffle(booked)
    for answer in booked:
        if len(calls) >= plan.scale.rebooks:
            break
        others = [
            e
            for e in large
            if e.mock_type == answer.result["mock_type"] and e.hubspot_id != answer.call.exam
        ]
        if others:
            target = rng.choice(others)
            calls.append(
                Call(
                    "rebook",
                    {
                        "p_booking_id": answer.result["booking_id"],
                        "p_new_mock_exam_id": target.hubspot_id,
                        "p_idempotency_key": f"{KEY_PREFIX}{uuid.UUID(int=rng.getrandbits(128))}",
                        "p_actor": ACTOR,
                    },
                    target.hubspot_id,
                )
            )
    return calls


@dataclass
class Tally:
    """What a phase's answers add up to (first sends; resends and double submits apart)."""

    booked: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    resends: int = 0
    resend_replays: int = 0
    resend_refused: int = 0
    doubles: int = 0
    double_replays: int = 0
    busy_retries: int = 0


def tally(answers: Sequence[Answer]) -> Tally:
    t = Tally()
    keys = Counter(a.call.args.get("p_idempotency_key") for a in answers)
    for a in answers:
        doubled = keys[a.call.args.get("p_idempotency_key")] > 1
        if a.result is not None and not a.result.get("idempotent_replay"):
            t.booked += 1
        elif a.result is not None and doubled:
            t.double_replays += 1
        elif a.code is not None:
            t.refused[a.code] += 1
        if a.call.resend:
            t.resends += 1
            if a.resent is not None and a.resent.get("idempotent_replay"):
                t.resend_replays += 1
            elif a.resent_code is not None:
                t.resend_refused += 1
        t.busy_retries += a.busy_retries
    t.doubles = sum(1 for n in keys.values() if n > 1)
    return t


def unexpected(answer: Answer) -> bool:
    """An error that is not a documented mockbook error (a bug, or the server went away)."""
    return any((c or "").startswith("UNEXPECTED") for c in (answer.code, answer.resent_code))
