"""The glue's layout rules, checked on every module of glue/:

- each module opens with a docstring of at most 10 lines (a reader sees what it is at once);
- SQL lives in the database seam, glue/db/: no other module holds an SQL statement in a
  string (the demo's too: glue/db/demo.py);
- no import runs back up the layers (LAYERS: hubspot, db, sync, run, cli, ...), and no two
  modules import each other, directly or round a circle (deferred imports included);
- the push package's modules import only the layers below them (records and lanes, settling
  and claiming, sending, the three steps, the loop), and none grows past ~400 lines;
- no class has more than one base besides the marker bases of ONE_BASE_EXCEPTIONS: objects are
  composed of parts they hold, not assembled from mixins.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

GLUE = Path(__file__).resolve().parents[3] / "glue"
MODULES = sorted(p for p in GLUE.rglob("*.py"))
SQL = re.compile(
    r"^\s*(SELECT\s.+\sFROM\s|SELECT\s+\w+\.\w+\(|INSERT\s+INTO\s|UPDATE\s+\w+(\.\w+)?\s+SET\s|"
    r"DELETE\s+FROM\s|WITH\s+\w+\s+AS\s*\(|SELECT\s+(coalesce|pg_|to_regprocedure|\*))",
    re.IGNORECASE | re.DOTALL,
)
SQL_SEAM = ("db/",)


def rel(path: Path) -> str:
    return path.relative_to(GLUE).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_module_opens_with_a_short_docstring(path: Path) -> None:
    tree = ast.parse(path.read_text())
    doc = ast.get_docstring(tree, clean=False)
    assert doc, f"glue/{rel(path)} has no opening docstring"
    lines = doc.strip("\n").splitlines()
    assert len(lines) <= 10, f"glue/{rel(path)}: opening docstring of {len(lines)} lines"


def sql_strings(path: Path) -> list[str]:
    """SQL statements written as string constants (f-strings included) in a module, docstrings
    left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            text = node.value
        else:
            continue
        if SQL.search(text):
            found.append(text.strip().splitlines()[0])
    return found


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if not rel(p).startswith((*SQL_SEAM, "sandbox/"))],
    ids=rel,
)
def test_no_sql_outside_the_database_seam(path: Path) -> None:
    assert sql_strings(path) == []


def test_the_sql_check_finds_sql() -> None:
    # The check above can fail: the seam's own modules are full of SQL by its definition.
    assert sql_strings(GLUE / "db" / "database.py")
    assert sql_strings(GLUE / "db" / "cache.py")
    assert sql_strings(GLUE / "db" / "runs.py")


# The glue's layers, lowest first: a module imports only from its own unit and the units of
# lower layers, never one above (glue.db takes the demo's markers as arguments rather than import
# glue.demo; the portal gate that reads the database is glue.sync.portal, not glue.hubspot). A unit
# is a package of glue/ or a top-level module.
LAYERS = {
    "clock": 0,
    "config": 0,
    "credit_fields": 0,
    "errsummary": 0,
    "exitcodes": 0,
    "redaction": 0,
    "logs": 1,
    "lifecycle": 1.5,  # signals: writes the logs; every layer that calls, connects or stops uses it
    "settings_doc": 1,
    "hubspot": 2,
    "db": 3,
    "cache": 4,
    "sync": 5,
    "run": 6,
    "sandbox": 6,
    "cli": 7,
    "demo": 8,
}


def unit(module: str) -> str:
    """The unit of a dotted glue module name: ``glue.sync.push.contacts`` -> ``sync``."""
    return module.split(".")[1] if module.count(".") else ""


def glue_imports(path: Path) -> list[str]:
    """The glue modules a module imports (relative imports stay inside their package)."""
    return [name for name in imported_modules(path) if name.startswith("glue.")]


def back_arrows() -> list[str]:
    found = []
    for path in MODULES:
        here = rel(path).split("/")[0].removesuffix(".py")
        for name in glue_imports(path):
            there = unit(name)
            if there != here and LAYERS[there] >= LAYERS[here]:
                found.append(
                    f"glue/{rel(path)} ({here}, layer {LAYERS[here]}) imports {name} "
                    f"({there}, layer {LAYERS[there]})"
                )
    return found


def test_every_unit_of_the_glue_has_a_layer() -> None:
    units = {p.stem if p.parent == GLUE else p.relative_to(GLUE).parts[0] for p in MODULES}
    assert units - {"__init__"} == set(LAYERS)


def test_no_arrow_runs_back_up() -> None:
    assert back_arrows() == []


def test_the_layer_check_sees_the_imports() -> None:
    # The check above can fail: the imports it reads are the real ones, arrows down included.
    arrows = {(rel(p).split("/")[0], unit(n)) for p in MODULES for n in glue_imports(p)}
    assert {("hubspot", "config"), ("db", "hubspot"), ("sync", "db"), ("cli", "sync")} <= arrows


# The push package (glue/sync/push/), in layers: each module imports only the layers below it,
# so a step (contacts, bookings, exams) can be read with the sending and settling it builds on
# and nothing else, and the loop (pusher) is the one place the parts meet.
PUSH_LAYERS = {
    "records": 0,
    "lanes": 0,
    "settle": 1,
    "claim": 1,
    "send": 2,
    "merge": 2,
    "contacts": 3,
    "bookings": 3,
    "exams": 3,
    "pusher": 4,
    "__init__": 5,
}


def imported_modules(path: Path) -> list[str]:
    return [
        name
        for node in ast.walk(ast.parse(path.read_text()))
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    ]


def test_the_push_package_lists_its_modules() -> None:
    assert {p.stem for p in (GLUE / "sync" / "push").glob("*.py")} == set(PUSH_LAYERS)


@pytest.mark.parametrize("module", sorted(PUSH_LAYERS))
def test_a_push_module_imports_only_the_layers_below_it(module: str) -> None:
    path = GLUE / "sync" / "push" / f"{module}.py"
    below = [
        name.removeprefix("glue.sync.push.")
        for name in imported_modules(path)
        if name.startswith("glue.sync.push.")
    ]
    assert [m for m in below if PUSH_LAYERS[m] >= PUSH_LAYERS[module]] == []
    assert len(path.read_text().splitlines()) <= 420, f"glue/sync/push/{module}.py grew past ~400"


# Bases a class may have besides its one base: typing's markers and exception classes (an error
# that is also a ValueError), none of which brings state or behaviour of its own to share.
ONE_BASE_EXCEPTIONS = frozenset(
    {
        "Protocol",
        "typing.Protocol",
        "Generic",
        "typing.Generic",
        "NamedTuple",
        "typing.NamedTuple",
        "ABC",
        "abc.ABC",
        "Exception",
        "ValueError",
        "TypeError",
        "KeyError",
        "LookupError",
        "RuntimeError",
    }
)


def base_name(base: ast.expr) -> str:
    """``Generic[T]`` -> ``Generic``; ``abc.ABC`` -> ``abc.ABC``."""
    return ast.unparse(base.value if isinstance(base, ast.Subscript) else base)


def classes_with_several_bases(source: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            bases = [base_name(b) for b in node.bases]
            if len([b for b in bases if b not in ONE_BASE_EXCEPTIONS]) > 1:
                found.append(f"{where}: class {node.name}({', '.join(bases)})")
    return found


def test_no_class_has_more_than_one_base() -> None:
    found = [c for p in MODULES for c in classes_with_several_bases(p.read_text(), rel(p))]
    assert found == []


def test_the_base_check_finds_mixins() -> None:
    source = (
        "class Pusher(ContactPush, BookingPush, ExamPush): pass\n"
        "class Worker(threading.Thread, Reconnecting): pass\n"
        "class Fine(Base): pass\n"
        "class Markers(Protocol, Generic[T]): pass\n"
        "class Refused(ConfigError, ValueError): pass\n"
        "class Task(threading.Thread, abc.ABC): pass\n"
    )
    assert classes_with_several_bases(source, "m.py") == [
        "m.py: class Pusher(ContactPush, BookingPush, ExamPush)",
        "m.py: class Worker(threading.Thread, Reconnecting)",
    ]


# ---- no import circle --------------------------------------------------------------------------
# Every import a module runs counts, a deferred one inside a function too (a circle hidden in a
# function is still a circle: the two modules can only be read together); an import under
# ``if TYPE_CHECKING:`` does not (it never runs: a part naming the type of the object holding it).
# Importing ``a.b.c`` counts as an arrow to ``a.b.c`` alone: a package's __init__ that gathers its
# modules is not a circle with them.
def module_name(path: Path) -> str:
    """``glue/sync/push/contacts.py`` -> ``glue.sync.push.contacts``; a package's __init__: the
    package's name."""
    parts = path.relative_to(GLUE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if path.stem == "__init__" else parts)


MODULE_NAMES = {module_name(p): p for p in MODULES}


def type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the import nodes under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING", "typing.TYPE_CHECKING"
        ):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skipped


def imports_of(name: str, source: str) -> set[str]:
    """The glue modules module ``name`` imports at run time (``from p import m``: the module
    ``p.m`` when there is one, else ``p``), relative imports resolved."""
    tree = ast.parse(source)
    skipped = type_checking_only(tree)
    package = name if MODULE_NAMES[name].stem == "__init__" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in MODULE_NAMES}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in MODULE_NAMES:
                    found.add(full)
                elif base in MODULE_NAMES:
                    found.add(base)
    return found - {name}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles of an import graph: each strongly connected set of two modules or more, or
    a module importing itself (Tarjan's algorithm), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                members.append(member)
                if member == node:
                    break
            if len(members) > 1 or node in graph.get(node, ()):
                circles.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(circles)


def test_no_import_circle_in_the_glue() -> None:
    graph = {name: imports_of(name, path.read_text()) for name, path in MODULE_NAMES.items()}
    assert import_circles(graph) == []


def test_the_circle_check_finds_circles() -> None:
    # The check above can fail: it reads deferred and relative imports, and leaves out only what
    # never runs.
    deferred = "def build():\n    from glue.hubspot.ratelimit_host import HostWindow\n"
    assert imports_of("glue.hubspot.ratelimit", deferred) == {"glue.hubspot.ratelimit_host"}
    relative = "from .sandbox import Sandbox\nfrom . import faults\n"
    assert imports_of("glue.sandbox.server", relative) == {
        "glue.sandbox.sandbox", "glue.sandbox.faults"
    }
    typed = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .api import Api\n"
    assert imports_of("glue.sandbox.batch", typed) == set()
    assert imports_of("glue.sync.push", "from glue.sync.push.pusher import Pusher\n") == {
        "glue.sync.push.pusher"
    }
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_circles(graph) == [["a", "b", "c"], ["e"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []
