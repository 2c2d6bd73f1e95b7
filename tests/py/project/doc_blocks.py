"""The fenced code blocks of the guide (README.md, docs/*.md, bench/README.md), and a shell that
runs them as written.

`blocks()` extracts every fenced block (an indented one inside a list item included), each named
by its page and its first line (`Block.key`): a test classifies each by that name.

`ServedShell` runs a block's text with bash, as written, in a working directory that stands for
the server's (/srv/mockbook) and the checkout's: its `.venv/bin` holds `mockbook`, `alembic` and
`activate`. `mockbook` there is a small client (Python without site-packages: no import of the
glue) that hands its arguments, working directory and environment to the test's own process,
which runs the command through the console-script entry (`glue.cli.main`: its exit codes, its
signal handling) and answers with the exit code and what the command wrote; the client writes
that out and exits with the code. So every `mockbook` line of a block (after `cd`, `set -a && .
env && set +a`, `VAR=value mockbook ...`, `&&`, a subshell, a redirection into a log file) runs
with bash's own meaning, and none starts an interpreter that imports the glue again. `alembic`
is the venv's own console script (a process of its own: Alembic configures logging from
alembic.ini, which a served command would leave behind); `activate` is the venv's, pointing at
the stand-in.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]
# a fence may be indented (a block inside a list item); its text is dedented by the fence's indent
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[^\n`]*)\n(?P<body>.*?)^[ \t]*```[ \t]*$",
                    re.M | re.S)
KEY_LENGTH = 60


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository root
    line: int  # the opening fence's line
    lang: str
    text: str

    @property
    def key(self) -> str:
        """How a test names the block: its page and the start of its first line (its words up
        to KEY_LENGTH characters, then `…`), so that a command further on the line can change
        and the block is still found (and run, and fail)."""
        first = next((line.strip() for line in self.text.splitlines() if line.strip()), "")
        if len(first) > KEY_LENGTH:
            words = first[:KEY_LENGTH + 1].rsplit(" ", 1)[0]  # a long word: cut in it
            first = (words if len(words) > KEY_LENGTH // 2 else first[:KEY_LENGTH]).rstrip()
            first += " …"
        return f"{self.page}: {first}"

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def page_blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for m in _FENCE.finditer(text):
        indent = len(m["indent"])
        body = "".join(line[indent:] if line[:indent].isspace() else line
                       for line in m["body"].splitlines(keepends=True))
        found.append(Block(page.relative_to(ROOT).as_posix(), text.count("\n", 0, m.start()) + 1,
                           m["lang"].strip(), body))
    return found


def blocks() -> list[Block]:
    return [block for page in PAGES for block in page_blocks(page)]


# ---- the served shell ---------------------------------------------------------------------------
# The client of a served command: stdlib only, started with -I -S (no site-packages).
_CLIENT = """\
#!{python} -IS
import json, os, socket, sys
with socket.socket(socket.AF_UNIX) as s:
    s.connect({socket!r})
    s.sendall(json.dumps({{"argv": sys.argv, "cwd": os.getcwd(),
                          "env": dict(os.environ)}}).encode())
    s.shutdown(socket.SHUT_WR)
    answer = json.loads(b"".join(iter(lambda: s.recv(65536), b"")))
sys.stdout.write(answer["out"])
sys.stderr.write(answer["err"])
sys.exit(answer["code"])
"""


@dataclass
class Served:
    """One served command: its arguments (the name as the shell called it first), exit code and
    output."""
    argv: list[str]
    code: int
    out: str
    err: str

    @property
    def line(self) -> str:
        return " ".join(["mockbook", *self.argv[1:]])


@dataclass
class Ran:
    code: int  # bash's
    out: str
    err: str
    served: list[Served] = field(default_factory=list)


class ServedShell:
    """bash over a working directory whose `.venv/bin/mockbook` is served by this process (the
    module's docstring). Use as a context manager; `run` one script at a time, from the main
    thread (a command installs its signal handlers)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="mockbook-docs-"))
        self.bin = self.workdir / ".venv" / "bin"
        self.env = {**env, "PATH": f"{self.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        self._listener = socket.socket(socket.AF_UNIX)

    def __enter__(self) -> ServedShell:
        self.bin.mkdir(parents=True)
        path = str(self.workdir / "serve.sock")
        self._listener.bind(path)
        self._listener.listen(4)
        self._listener.settimeout(0.05)
        client = self.bin / "mockbook"
        client.write_text(_CLIENT.format(python=sys.executable, socket=path))
        client.chmod(0o755)
        venv = Path(sys.prefix)
        (self.bin / "alembic").symlink_to(venv / "bin" / "alembic")
        activate = (venv / "bin" / "activate").read_text()
        assert str(venv) in activate, "the venv's activate names no VIRTUAL_ENV"
        (self.bin / "activate").write_text(activate.replace(str(venv), str(self.bin.parent)))
        # the checkout's files a command run from its root reads: alembic.ini and db/
        for name in ("alembic.ini", "db"):
            (self.workdir / name).symlink_to(ROOT / name)
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def run(self, script: str, *, timeout: float = 300) -> Ran:
        """bash -c SCRIPT in the working directory, serving its `mockbook` commands meanwhile."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(["bash", "-c", script], cwd=self.workdir, env=self.env,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True)
            served: list[Served] = []
            deadline = time.monotonic() + timeout
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    proc.kill()
                    raise TimeoutError(f"still running after {timeout} s: {script}")
                with contextlib.suppress(TimeoutError):
                    conn, _ = self._listener.accept()
                    with conn:
                        served.append(self._serve(conn))
            out.seek(0)
            err.seek(0)
            return Ran(proc.returncode, out.read(), err.read(), served)

    def _serve(self, conn: socket.socket) -> Served:
        conn.settimeout(60)
        request = json.loads(b"".join(iter(lambda: conn.recv(65536), b"")))
        code, out, err = self.call(request["argv"][1:], request["env"], request["cwd"])
        conn.sendall(json.dumps({"code": code, "out": out, "err": err}).encode())
        return Served(request["argv"], code, out, err)

    @staticmethod
    def call(args: list[str], env: dict[str, str], cwd: str) -> tuple[int, str, str]:
        """`mockbook ARGS` in this process through the console-script entry, with exactly `env`
        as its environment and `cwd` as its working directory: (exit code, stdout, stderr)."""
        from glue.cli import main

        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        out, err = io.StringIO(), io.StringIO()
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main(args)
                    code = 0
                except SystemExit as exc:  # as the interpreter ends on it
                    code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
                    if isinstance(exc.code, str):
                        print(exc.code, file=sys.stderr)
                except Exception:  # as the interpreter ends on it: the traceback, exit 1
                    traceback.print_exc()
                    code = 1
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def served_shell(env: dict[str, str]) -> Iterator[ServedShell]:
    with ServedShell(env) as shell:
        yield shell


# ---- the TypeScript and JavaScript blocks -------------------------------------------------------
# What a block that defines nothing (`export`) takes from around it, declared for tsc: the
# client it calls (app.ts's `connect`), the values it names; a payload's JSON is assigned to its
# type. A block that defines something is app.ts's own text (test_typescript_client.py).
_NODE_ENV = "declare const process: { env: Record<string, string> }\n"
TYPESCRIPT_CONTEXT = {
    "README.md: import { createClient } from '@supabase/supabase-js'":
        _NODE_ENV + "declare const key: string\n",
    "docs/apps.md: import { createClient } from '@supabase/supabase-js'": _NODE_ENV,
    "docs/apps.md: // Reads return rows: PostgREST filters and .single() work …":
        "import type { connect } from '../app'\n"
        "declare const supabase: ReturnType<typeof connect>\n"
        "declare const studentId: string, email: string\n",
    'docs/apps.md: {"id": "…", "mock_exam_id": "1234567890", "capacity": 20, …':
        "import type { SeatsMessage } from '../realtime.types'\n"
        "export const message: SeatsMessage =\n",
    "docs/apps.md: import type { Database } from './mockbook.types'":
        "import { createClient } from '@supabase/supabase-js'\n"
        "declare const url: string, serviceRoleKey: string\n",
}


def typescript_sources() -> dict[str, tuple[Block, str]]:
    """{file name: (block, its text for tsc)} of the blocks TYPESCRIPT_CONTEXT declares: the
    context, then the block as written (its imports of the client's files from one folder
    down, where tsc compiles it)."""
    found = {}
    for block in blocks():
        if block.key in TYPESCRIPT_CONTEXT:
            name = re.sub(r"\W+", "-", f"doc-{block.page}-{block.line}").removesuffix("-md")
            text = block.text.replace("from './", "from '../")
            found[f"{name}.ts"] = (block, TYPESCRIPT_CONTEXT[block.key] + text)
    return found
