"""`make mutants` (tests/mutate.py) makes the mutants it says, the same ones for a seed, and its
list of equivalent mutants names mutants that exist.

The runs themselves (40 mutants against the booking tests) take half an hour and are `make
mutants`'; here only the making is checked, on db/ as it is.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
import mutate  # noqa: E402


@pytest.fixture(scope="module")
def mutants() -> list[mutate.Mutant]:
    return mutate.all_mutants()


def test_every_operator_makes_mutants_with_unique_ids(mutants: list[mutate.Mutant]) -> None:
    assert {m.op for m in mutants} == {"compare", "negate", "and_or", "drop", "constant",
                                       "coalesce"}
    assert len({m.id for m in mutants}) == len(mutants)


def test_a_mutant_changes_code_never_a_string_a_comment_or_a_handler(
        mutants: list[mutate.Mutant]) -> None:
    for m in mutants:
        text = (ROOT / "db" / m.file).read_text()
        assert text[m.start:m.end] == m.original != m.replace, m
        line = text.split("\n")[m.line - 1]
        before = line[:m.start - (text.rfind("\n", 0, m.start) + 1)]
        assert "--" not in before and before.count("'") % 2 == 0, m
        assert not line.lstrip().startswith(("OR io_error", "WHEN disk_full")), m


def test_the_operators_on_a_known_body() -> None:
    body = ("    IF a.x <= 3 AND coalesce(b, 0) > 1 THEN\n"
            "        SELECT 1 FROM t WHERE t.c IS NULL\n"
            "          AND t.d = 'x = y' -- c >= d\n"
            "          AND t.e IS DISTINCT FROM f;\n"
            "        UPDATE t SET c = 2 WHERE t.k = v;\n"
            "    END IF;\n"
            "EXCEPTION WHEN a OR b THEN NULL;")
    made = [(op, body[s:e], r) for op, s, e, r in mutate.sites(body, mutate.code_mask(body))]
    found = set(made)
    assert ("compare", "<=", ">") in found and ("compare", ">", "<=") in found
    assert ("negate", "IS NULL", "IS NOT NULL") in found
    assert ("negate", "IS DISTINCT FROM", "IS NOT DISTINCT FROM") in found
    assert ("and_or", "AND", "OR") in found
    assert ("drop", "t.e IS DISTINCT FROM f", "true") in found
    assert ("drop", "a.x <= 3 AND coalesce(b, 0) > 1", "true") in found
    assert ("constant", "3", "4") in found and ("constant", "3", "2") in found
    assert ("coalesce", "0", "1") in found
    # the string, the comment, the SET assignment and the handler's OR are left alone
    assert ("and_or", "OR", "AND") not in found
    assert [text for op, text, _ in made if op == "compare"] == ["<=", ">", "=", "="]


def test_a_seed_chooses_the_same_mutants_and_they_compile() -> None:
    first = mutate.choose(6, 7)
    assert [m.id for m in first] == [m.id for m in mutate.choose(6, 7)]
    assert [m.id for m in first] != [m.id for m in mutate.choose(6, 8)]


def test_the_equivalent_mutants_exist_and_say_why(mutants: list[mutate.Mutant]) -> None:
    ids = {m.id for m in mutants}
    for mutant_id, reason in mutate.equivalents().items():
        assert mutant_id in ids, f"{mutant_id}: no such mutant any more"
        assert len(reason) > 20, mutant_id
