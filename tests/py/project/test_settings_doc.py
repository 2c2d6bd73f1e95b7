"""The settings table in code (glue.config.variables: Settings' fields and the variables read by
CLI options or where they are used) is complete and current: docs/settings.md is what the code
generates (glue/settings_doc.py), every environment variable read anywhere in glue/ is in the
table, every variable in the table is read, and every CLI option of a setting is built from its
row (glue.cli.options): no command writes a setting's variable, default or meaning again."""

from __future__ import annotations

import ast
import importlib
from dataclasses import fields
from pathlib import Path

import click

from glue import config, settings_doc
from glue.cli import LAZY_COMMANDS
from glue.cli.options import option_help
from glue.config import OTHER_VARIABLES, Settings, declared, variables

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
        if isinstance(node, ast.Call) and _called(node) == "setting_option" and node.args:
            # an option built from its row: the row by its variable's name or its constant
            arg = node.args[0]
            if isinstance(arg, ast.Name) and isinstance(getattr(config, arg.id, None),
                                                        config.Variable):
                found.add(getattr(config, arg.id).name)
            else:
                name_of(arg, node)
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


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


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
    names, _ = environment_reads(GLUE / "cli" / "ops.py")
    assert "MOCKBOOK_STATUS_MAX_LAG" in names
    names, _ = environment_reads(GLUE / "sandbox" / "conformance.py")
    assert names == {"HUBSPOT_OPENAPI_DIR"}


def test_every_variable_read_in_glue_is_in_the_table() -> None:
    found, dynamic = glue_reads()
    # the reads by a computed name: Settings.from_env, of every Settings field, and the
    # options built from their rows
    assert sorted({where.split(":")[0] for where in dynamic}) == [
        "glue/cli/options.py",
        "glue/config.py",
    ]
    table = {v.name for v in variables()}
    assert found - table == set(), "read in glue/ but not in glue.config's table"


def test_every_variable_in_the_table_is_read() -> None:
    found, _ = glue_reads()
    by_settings = {f.metadata["env"] for f in fields(Settings)}  # Settings.from_env
    assert Settings.from_env({name: "" for name in by_settings}) == Settings()
    assert {v.name for v in OTHER_VARIABLES} - found == set(), "in the table but never read"
    assert {v.name for v in OTHER_VARIABLES} & by_settings == set()


def cli_options() -> list[click.Option]:
    """Every option of every command, all commands loaded."""
    found: list[click.Option] = []

    def walk(command: click.Command) -> None:
        found.extend(p for p in command.params if isinstance(p, click.Option))
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    walk(importlib.import_module("glue.cli").cli)
    for target, _help in LAZY_COMMANDS.values():
        module_name, attribute = target.split(":")
        walk(getattr(importlib.import_module(module_name), attribute))
    return found


UNSET = (None, getattr(click.core, "UNSET", None))


def setting_rows(option: click.Option) -> list[config.Variable]:
    """The rows an option is the option of: by its variable, or by its flag when it has no
    default (a setting Settings reads has an option that only overrides it; `reconcile
    --max-drift`, with a default of its own, is another thing than `status --max-drift`)."""
    return [
        row
        for row in variables()
        if option.envvar == row.name
        or (row.in_settings and row.flag in option.opts and option.default in UNSET)
    ]


def test_every_option_of_a_setting_is_built_from_its_row() -> None:
    options = cli_options()
    seen: set[str] = set()
    for option in options:
        rows = setting_rows(option)
        if option.envvar:
            assert rows, f"{option.opts}: {option.envvar} is not in glue.config's table"
        if not rows:
            continue
        [row] = rows
        seen.add(row.name)
        assert option.help == option_help(row), f"{option.opts}: help not the row's meaning"
        if row.in_settings:  # Settings reads the variable; the option only overrides it
            assert option.envvar is None, option.opts
            assert option.default in UNSET, option.opts
        else:
            assert option.default == row.default, f"{option.opts}: default not the row's"
    flagged = {row.name for row in variables() if row.flag}
    assert flagged - seen == set(), "a row with a flag that no command has"


def test_the_option_check_sees_the_options() -> None:
    # The check above can fail: it finds the options by variable and by flag.
    by_opts = {o.opts[0]: o for o in cli_options()}
    assert setting_rows(by_opts["--batch-size"]) == [declared("MOCKBOOK_PUSH_BATCH_SIZE")]
    assert setting_rows(by_opts["--max-lag"]) == [declared("MOCKBOOK_STATUS_MAX_LAG")]
    assert by_opts["--batch-size"].default == config.PUSH_BATCH_SIZE.default


def _words(name: str) -> set[str]:
    generic = {"mockbook", "default", "seconds", "max", "min", "status", "push", "pull", "run"}
    return set(name.lower().split("_")) - generic - {""}


def written_defaults(source: str, rows: list[config.Variable]) -> list[str]:
    """Where a module writes a flagged row's default again: a parameter, keyword or field named
    as the row's option (``batch_size=8000``), or a constant sharing a word with the row's
    variable (``BATCH_RECORDS = 8000``), given the row's default as a literal. ``line value``."""
    found = []

    def check(name: str, value: ast.expr | None) -> None:
        if not isinstance(value, ast.Constant) or isinstance(value.value, bool):
            return
        for row in rows:
            option_name = (row.flag or "").lstrip("-").replace("-", "_")
            if value.value == row.default and (
                name == option_name or _words(name) & _words(row.name)
            ):
                found.append(f"{value.lineno} {name}={value.value!r}")

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    check(target.id, node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            check(node.target.id, node.value)
        elif isinstance(node, ast.Call):
            first = node.args[0] if node.args else None
            flag = first.value if isinstance(first, ast.Constant) else ""
            for kw in node.keywords:
                # a click option of a setting's flag given the setting's default
                name = (flag or "").lstrip("-").replace("-", "_") if kw.arg == "default" else kw.arg
                check(name or "", kw.value)
        elif isinstance(node, ast.arguments):
            positional = [*node.posonlyargs, *node.args]
            for arg, value in zip(positional[len(positional) - len(node.defaults):],
                                  node.defaults, strict=True):
                check(arg.arg, value)
            for arg, value in zip(node.kwonlyargs, node.kw_defaults, strict=True):
                check(arg.arg, value)
    return found


FLAGGED = [row for row in variables() if row.flag and row.default is not None]


def test_no_default_of_a_setting_is_written_twice() -> None:
    where = {
        path.relative_to(GLUE.parent).as_posix(): hits
        for path in sorted(GLUE.rglob("*.py"))
        if path != GLUE / "config.py"
        if (hits := written_defaults(path.read_text(), FLAGGED))
    }
    assert where == {}, "read the default from glue.config's row"


def test_the_default_check_finds_a_default() -> None:
    # The check above can fail: each way a default used to be written again is found.
    source = (
        "BATCH_RECORDS = 8000\n"
        "def push(db, batch_size: int = 8000, *, lease_seconds=120): ...\n"
        "click.option('--path', default='/webhooks/hubspot')\n"
        "BATCH_SIZE = 100\n"
    )
    assert [hit.split()[1] for hit in written_defaults(source, FLAGGED)] == [
        "BATCH_RECORDS=8000",
        "batch_size=8000",
        "lease_seconds=120",
        "path='/webhooks/hubspot'",
    ]
