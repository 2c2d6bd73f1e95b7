"""The settings table in code (glue.config.variables: Settings' fields and the variables read by
CLI options or where they are used) is complete and current: docs/settings.md is what the code
generates (glue/settings_doc.py), every environment variable read anywhere in glue/ is in the
table, every variable in the table is read, and a CLI option's default is the table's."""

from __future__ import annotations

import ast
import importlib
from dataclasses import fields
from pathlib import Path

import click

from glue import settings_doc
from glue.cli import LAZY_COMMANDS
from glue.config import OTHER_VARIABLES, Settings, variables
from glue.sync.webhooks import DEFAULT_PATH

GLUE = Path(__file__).resolve().parents[3] / "glue"


def test_the_doc_is_what_the_code_generates() -> None:
    text = settings_doc.DOC.read_text()
    assert settings_doc.render(text) == text, "run: python -m glue.settings_doc"
    assert settings_doc.main(["--check"]) == 0


def test_the_table_names_each_variable_once() -> None:
    names = [v.name for v in variables()]
    assert len(names) == len(set(names))
    assert all(v.meaning.strip() for v in variables())


def _is_environ(node: ast.AST) -> bool:
    """``os.environ``, ``environ``, or a name standing for it (``env = os.environ if ...``)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id in ("environ", "env")


def environment_reads(path: Path) -> tuple[set[str], list[str]]:
    """The variables a module reads (``envvar=`` of a click option, ``os.environ.get(...)``,
    ``os.getenv(...)``, ``os.environ[...]``, ``... in os.environ``), and the reads whose name is
    not a constant (``path:line``)."""
    tree = ast.parse(path.read_text())
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: set[str] = set()
    dynamic: list[str] = []

    def name_of(arg: ast.AST, where: ast.AST) -> None:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.add(arg.value)
        elif isinstance(arg, ast.Name) and arg.id in constants:
            found.add(constants[arg.id])
        elif isinstance(arg, ast.List | ast.Tuple):
            for item in arg.elts:
                name_of(item, where)
        else:
            dynamic.append(f"{path.relative_to(GLUE.parent)}:{where.lineno}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "envvar":
                    name_of(kw.value, node)
            func = node.func
            if isinstance(func, ast.Attribute) and node.args and (
                (func.attr in ("get", "pop") and _is_environ(func.value)) or func.attr == "getenv"
            ):
                name_of(node.args[0], node)
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            name_of(node.slice, node)
        elif isinstance(node, ast.Compare) and any(
            isinstance(op, ast.In | ast.NotIn) for op in node.ops
        ) and any(_is_environ(c) for c in node.comparators):
            name_of(node.left, node)
    return found, dynamic


def glue_reads() -> tuple[set[str], list[str]]:
    found: set[str] = set()
    dynamic: list[str] = []
    for path in sorted(GLUE.rglob("*.py")):
        names, where = environment_reads(path)
        found |= names
        dynamic += where
    return found, dynamic


def test_the_scan_finds_reads() -> None:
    # The checks below can fail: the scan sees each way the glue reads a variable.
    names, _ = environment_reads(GLUE / "sync" / "webhooks.py")
    assert {"HUBSPOT_CLIENT_SECRET", "MOCKBOOK_WEBHOOKS_PATH"} <= names
    names, _ = environment_reads(GLUE / "cli" / "sync.py")
    assert {"MOCKBOOK_PUSH_LINGER_SECONDS", "HUBSPOT_CLIENT_SECRET"} <= names
    names, _ = environment_reads(GLUE / "sandbox" / "conformance.py")
    assert names == {"HUBSPOT_OPENAPI_DIR"}


def test_every_variable_read_in_glue_is_in_the_table() -> None:
    found, dynamic = glue_reads()
    # the one read by a computed name: Settings.from_env, of every Settings field
    assert [where.split(":")[0] for where in dynamic] == ["glue/config.py"]
    table = {v.name for v in variables()}
    assert found - table == set(), "read in glue/ but not in glue.config's table"


def test_every_variable_in_the_table_is_read() -> None:
    found, _ = glue_reads()
    by_settings = {f.metadata["env"] for f in fields(Settings)}  # Settings.from_env
    assert Settings.from_env({name: "" for name in by_settings}) == Settings()
    assert {v.name for v in OTHER_VARIABLES} - found == set(), "in the table but never read"
    assert {v.name for v in OTHER_VARIABLES} & by_settings == set()


def cli_options() -> dict[str, list[object]]:
    """{variable: the defaults of the CLI options reading it}, all commands loaded."""
    found: dict[str, list[object]] = {}

    def walk(command: click.Command) -> None:
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar:
                found.setdefault(str(param.envvar), []).append(param.default)
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    for target, _help in LAZY_COMMANDS.values():
        module_name, attribute = target.split(":")
        walk(getattr(importlib.import_module(module_name), attribute))
    return found


def test_a_cli_options_default_is_the_tables() -> None:
    table = {v.name: v.default for v in variables()}
    for env, defaults in cli_options().items():
        assert env in table, f"{env} (a CLI option's envvar) is not in glue.config's table"
        for default in defaults:
            if default is None or not isinstance(default, str | int | float):  # click's UNSET
                continue
            assert default == table[env], f"{env}: option {default!r}, table {table[env]!r}"
    assert table["MOCKBOOK_WEBHOOKS_PATH"] == DEFAULT_PATH
