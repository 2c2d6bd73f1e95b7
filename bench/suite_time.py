"""B19, the suite's time: a fresh clone's `make test` of this code ÷ the same of another commit,
on one machine, measured side by side.

    .venv/bin/python bench/suite_time.py --base f6b93b4            # this checkout's HEAD ÷ f6b93b4
    .venv/bin/python bench/suite_time.py --base f6b93b4 --subject 1a2b3c4 --rounds 2

Each leg clones the repository afresh into a temporary directory (``git clone``, then the commit
checked out: no .venv, no .pgcompat, no bytecode, as CI's clean clone), runs ``make test`` there
and times it (wall clock, and the CPU of make and everything it started). The legs alternate
ABBA (base, subject, subject, base, ...), so a machine that slows down or warms up through the
measurement weighs on both sides alike; run it on a quiet machine (nothing else running: the
suite keeps the cores busy, and other work takes its share of them). Both sides use the machine's
package caches (uv's, npm's) and its PostgreSQL and Redis (``DATABASE_URL``/``PG*`` and
``REDIS_URL`` as for ``make test``).

It prints each leg and the ratio (subject ÷ base: the mean of the subject's legs over the mean
of the base's, and each ABBA pair's), and writes them to ``bench/results/<stamp>-suite.json``
(``--out`` to choose). A leg whose ``make test`` failed is recorded with its exit status and
its log's tail, and counts in the ratio all the same; the ratio is only a measurement when
every leg passed. B19's target: at most 0.67 of f6b93b4's (docs/development.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          timeout=600).stdout.strip()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def leg(side: str, sha: str, work: Path, target: str, repo: Path = ROOT) -> dict:
    """One fresh clone of ``sha`` and its ``make <target>``, timed."""
    clone = work / f"{side}-{sha[:12]}-{time.monotonic_ns()}"
    git("clone", "--quiet", "--no-checkout", str(repo), str(clone), cwd=work)
    git("checkout", "--quiet", "--detach", sha, cwd=clone)
    log = work / f"{clone.name}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MOCKBOOK_"))}
    load = os.getloadavg()[0]
    cpu, started = children_cpu(), time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(["make", target], cwd=clone, env=env, stdout=out,
                              stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    tail = log.read_text(errors="replace").splitlines()[-40:]
    # the clone's own cleanup: the embedded server a test left is stopped by the suite itself
    shutil.rmtree(clone, ignore_errors=True)
    return {"side": side, "commit": sha, "seconds": round(seconds, 1),
            "cpu_seconds": round(children_cpu() - cpu, 1), "exit": done.returncode,
            "load_before": round(load, 2), "log": str(log),
            "tail": tail if done.returncode else
            [line for line in tail if "make test:" in line or " passed" in line]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--subject", default="HEAD", help="the commit measured (default HEAD)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="ABBA rounds: each is one leg of each side twice (default 1)")
    parser.add_argument("--target", default="test", help="the make target timed (default test)")
    parser.add_argument("--repo", type=Path, default=ROOT,
                        help="the repository cloned (default this checkout's)")
    parser.add_argument("--out", type=Path, help="the JSON written (default bench/results/)")
    parser.add_argument("--keep-logs", type=Path,
                        help="a directory for the legs' logs (default: removed with the clones)")
    args = parser.parse_args(argv)
    base = git("rev-parse", args.base, cwd=args.repo)
    subject = git("rev-parse", args.subject, cwd=args.repo)
    order = [side for _ in range(args.rounds) for side in ("base", "subject", "subject", "base")]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    legs = []
    with tempfile.TemporaryDirectory(prefix="mockbook-suite-time-") as tmp:
        work = Path(tmp)
        for n, side in enumerate(order, 1):
            sha = base if side == "base" else subject
            print(f"leg {n}/{len(order)}: {side} {sha[:12]}: a fresh clone's make {args.target}",
                  flush=True)
            legs.append(leg(side, sha, work, args.target, args.repo))
            last = legs[-1]
            print(f"  {last['seconds']:.0f} s (CPU {last['cpu_seconds']:.0f} s), exit "
                  f"{last['exit']}, load before {last['load_before']}", flush=True)
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for entry in legs:
                kept = args.keep_logs / Path(entry["log"]).name
                shutil.copy(entry["log"], kept)
                entry["log"] = str(kept)
    mean = {side: sum(e["seconds"] for e in legs if e["side"] == side)
            / sum(1 for e in legs if e["side"] == side) for side in ("base", "subject")}
    pairs = [legs[i + 1]["seconds"] / legs[i]["seconds"] if legs[i]["side"] == "base"
             else legs[i]["seconds"] / legs[i + 1]["seconds"] for i in range(0, len(legs), 2)]
    result = {
        "stamp": stamp, "benchmark": "B19 suite time", "target": f"make {args.target}",
        "base": base, "subject": subject, "ratio": round(mean["subject"] / mean["base"], 3),
        "pair_ratios": [round(r, 3) for r in pairs],
        "mean_seconds": {k: round(v, 1) for k, v in mean.items()},
        "all_passed": all(e["exit"] == 0 for e in legs), "legs": legs,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "system": platform.platform()},
    }
    out = args.out or RESULTS / f"{stamp}-suite.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"B19: {subject[:12]} ÷ {base[:12]} = {result['ratio']:.3f} (means "
          f"{mean['subject']:.0f} s ÷ {mean['base']:.0f} s; pairs "
          f"{', '.join(f'{r:.3f}' for r in pairs)}; every leg passed: {result['all_passed']});"
          f" {out}")
    return 0 if result["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
