"""Every function of the glue reads as one decision at a time: at most MAX_PATHS paths through
it, as radon counts them (``radon cc``: cyclomatic complexity, a nested function on its own).
Radon counts more than ruff's C901 (each ``and``/``or``, a comprehension's conditions), so a
function C901 passes can still be one knot of decisions; this check holds radon's count.

A function above the bound fails unless ALLOWED names it, with its value now and why; it may
not grow past that value, and one that comes down to the bound or below must leave the list
(one that comes down but stays above it records its new value). A new function above the
bound, or a grown one, fails. The HubSpot emulator (glue/sandbox/) is allowed as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from radon.complexity import cc_visit
from radon.visitors import Function

GLUE = Path(__file__).resolve().parents[3] / "glue"
MAX_PATHS = 15

# packages of glue/ not held to the bound, and why
ALLOWED_PACKAGES = {
    "sandbox": "the HubSpot emulator of the tests, the demo and `mockbook sandbox`: HubSpot's "
    "own rules written out case by case, not the sync's code",
}

# "module path under glue/:function" -> (its paths now, why it may have them for now)
ALLOWED: dict[str, tuple[int, str]] = {
    "cache.py:plan_changes": (
        23, "one branch per table the outbox feeds the cache from, each with its own keys"),
    "cli/__init__.py:_main": (
        25, "the CLI's one error boundary: each kind of failure to its one line and exit code"),
    "cli/database.py:migrate": (
        22, "the migrate command's modes (--sql, --check, a target) and their outcomes in one "
        "command body"),
    "cli/database.py:check_adoption": (
        26, "migrate --check's findings printed kind by kind, table or JSON, in one body"),
    "cli/first_import.py:import_command": (
        24, "the import command's phases and their outcomes (stopped, partial, done) printed "
        "in one body"),
    "cli/hubspot_setup.py:setup_command": (
        21, "setup's modes (--check, --dry-run, JSON) and each kind of finding in one body"),
    "cli/ops.py:status": (
        20, "status's outputs (table, JSON, Prometheus file, --check thresholds) in one body"),
    "cli/reconcile.py:_render": (
        18, "the reconcile report's tables, one optional section per kind of drift"),
    "cli/sync.py:_resolve": (
        19, "dlq retry/discard: the ids' checks (unknown, resolved) and outcomes in one body"),
    "db/revision.py:freeze": (
        25, "folding db/ into the unreleased revision: the manifest's states (new, merged, "
        "cut) in one pass"),
    "demo/data.py:push": (
        19, "the demo's one push with its own settings and report, outcome by outcome"),
    "sync/pull.py:TargetStats.add": (
        16, "one pull page's result added into the counts, a counter per outcome"),
    "sync/pull.py:Puller.run": (
        25, "the pull's pass: pages, cursor, stop and counts in one loop"),
    "sync/push/bookings.py:BookingPush.push": (
        23, "the bookings step: early upserts, the rest, associations and settling in one body"),
}


def functions(source: str) -> Iterator[tuple[str, int]]:
    """(name, paths) of every function and method of a module, and of each function nested in
    one (``outer.inner``), as radon counts them."""

    def walk(block: Function, name: str) -> Iterator[tuple[str, int]]:
        yield name, block.complexity
        for inner in block.closures:
            yield from walk(inner, f"{name}.{inner.name}")

    for block in cc_visit(source):
        if isinstance(block, Function):  # a class's methods come as functions of their own
            yield from walk(block, block.fullname)


def over_the_bound(sources: dict[str, str]) -> dict[str, int]:
    """{"module:function": paths} of the functions above MAX_PATHS, outside ALLOWED_PACKAGES."""
    return {
        f"{module}:{name}": paths
        for module, source in sources.items()
        if module.split("/")[0] not in ALLOWED_PACKAGES
        for name, paths in functions(source)
        if paths > MAX_PATHS
    }


def refused(found: dict[str, int], allowed: dict[str, tuple[int, str]]) -> list[str]:
    """What the check refuses: a function above the bound and not allowed, or above its
    allowed value."""
    out = []
    for name, paths in sorted(found.items()):
        if name not in allowed:
            out.append(f"glue/{name}: {paths} paths (at most {MAX_PATHS}): split it into named "
                       "steps, one decision each")
        elif paths > allowed[name][0]:
            out.append(f"glue/{name}: {paths} paths, grown past its allowed {allowed[name][0]}")
    return out


def glue_sources() -> dict[str, str]:
    return {p.relative_to(GLUE).as_posix(): p.read_text() for p in sorted(GLUE.rglob("*.py"))}


def test_no_function_of_the_glue_has_more_paths_than_allowed() -> None:
    assert refused(over_the_bound(glue_sources()), ALLOWED) == []


def test_the_allowance_lists_each_exception_at_its_value_now() -> None:
    found = over_the_bound(glue_sources())
    stale = {name: (value, found.get(name)) for name, (value, _why) in ALLOWED.items()
             if found.get(name) != value}
    # (value allowed, value now): None now is at the bound or below (or gone): off the list
    assert stale == {}


def test_every_exception_says_why() -> None:
    assert all(why.strip() for _value, why in ALLOWED.values())
    assert all(why.strip() for why in ALLOWED_PACKAGES.values())
    assert set(ALLOWED_PACKAGES) <= {p.name for p in GLUE.iterdir() if p.is_dir()}


KNOT = '''
def knot(a, b, c):
    if a and b:
        return 1
    for x in c:
        if x or a:
            continue
    return [y for y in c if y and b]
'''


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("def flat(a):\n    return a\n", {}),
        (KNOT.replace("knot(", "one(") + KNOT.replace("knot(", "two("), {}),  # 9 each: fine
        ("def grown(a):\n" + "".join(f"    if a == {i}:\n        return {i}\n" for i in range(16))
         + "    return a\n", {"m.py:grown": 17}),
        ("class C:\n    def m(self, a):\n        def inner(b):\n" + "".join(
            f"            if b == {i}:\n                return {i}\n" for i in range(16))
         + "            return b\n        return inner(a)\n", {"m.py:C.m.inner": 17}),
    ],
    ids=["flat", "under", "function", "nested"],
)
def test_the_check_counts_what_radon_counts(source: str, found: dict[str, int]) -> None:
    # The checks above can fail: a function over the bound is found, a method's nested one too
    assert over_the_bound({"m.py": source}) == found
    assert over_the_bound({"sandbox/m.py": source}) == {}


def test_a_new_or_grown_function_is_refused() -> None:
    assert refused({"m.py:f": 16}, {}) == [
        "glue/m.py:f: 16 paths (at most 15): split it into named steps, one decision each"]
    assert refused({"m.py:f": 18}, {"m.py:f": (17, "why")}) == [
        "glue/m.py:f: 18 paths, grown past its allowed 17"]
    assert refused({"m.py:f": 17}, {"m.py:f": (17, "why")}) == []
