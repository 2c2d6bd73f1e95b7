"""The results of a run: bench/results/<timestamp>.json, the PNG chart beside it, and the
tables between the markers of bench/README.md."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
PSTART, PEND = "<!-- profile:start -->", "<!-- profile:end -->"


def write_json(run: dict[str, Any], stamp: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(run, indent=2, default=str) + "\n")
    return path


def _num(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and math.isnan(value):
        return "–"
    text = f"{value:,.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    return f"{text} {unit}".strip()


def _target(fig: dict[str, Any]) -> str:
    if fig["target"] is None:
        return "correct" if fig["bench"] == "B3" else "–"
    op = "≥" if fig["target_op"] == ">=" else "≤"
    subject = fig["unit"] if fig["target_op"] == "<=" else "ratio"
    return f"{subject} {op} {fig['target']:g}"


def _result(fig: dict[str, Any]) -> str:
    if fig["status"] != "measured":
        return f"**{fig['status']}**"
    if fig["passed"] is None:
        return "–"
    return "pass" if fig["passed"] else "**miss**"


def table(run: dict[str, Any]) -> str:
    machine = run["machine"]
    server = run["server"]
    lines = [
        f"Run `{run['stamp']}` ({run['mode']}; {run['duration_s']:.0f} s): PostgreSQL "
        f"{server['version'].split(' on ')[0].removeprefix('PostgreSQL ')} at "
        f"{server['host']}:{server['port']} (max_connections {server['max_connections']}, "
        f"shared_buffers {server['shared_buffers']}, synchronous_commit "
        f"{server['synchronous_commit']}), {machine['cores']} cores, "
        f"{machine['memory_gb']} GB, schema from {run['schema_source']}. "
        f"Results: [`results/{run['stamp']}.json`](results/{run['stamp']}.json), chart "
        f"[`results/{run['stamp']}.png`](results/{run['stamp']}.png).",
        "",
        "| Figure | Measured | Reference | Ratio | Target | Result |",
        "|---|---|---|---|---|---|",
    ]
    for fig in run["figures"]:
        if fig["status"] == "measured":
            measured = _num(fig["value"], fig["unit"])
            ref = (f"{_num(fig['reference'], fig['reference_unit'])} ({fig['reference_name']})"
                   if fig["reference"] is not None else "–")
            ratio = _num(fig["ratio"])
        else:
            measured = f"{fig['status']}: {fig['note']}"
            ref = ratio = "–"
        lines.append(f"| {fig['id']} {fig['title']} | {measured} | {ref} | {ratio} | "
                     f"{_target(fig)} | {_result(fig)} |")
    lines += ["", "How each figure was measured, in its own words (clients run, legs, fixture): "
              "its `how` and `note` in the JSON; the method is under "
              "[How it measures](#how-it-measures)."]
    if run.get("invariants") is not None:
        inv = run["invariants"]
        lines += ["", "the invariants on the bench database after B1–B5: "
                  + ("all hold." if not inv else "VIOLATED: " + "; ".join(inv[:5]))]
    return "\n".join(lines)


def profile_table(profile: dict[str, Any] | None, stamp: str | None = None) -> str:
    if not profile:
        return "No profile in this run (it runs with B1)."
    if "error" in profile:
        return f"The profile failed: {profile['error']}"
    on = profile.get("synchronous_commit_on", {})
    off = profile.get("synchronous_commit_off", {})
    bare = profile.get("no_outbox_audit_triggers", {})
    tf = profile.get("track_functions", {})
    st = profile.get("statements", {})
    lines = [
        (f"Run `{stamp}`. " if stamp else "")
        + "One client (no contention: the cost of one transaction), "
        f"{profile['seconds_per_leg']} s per pgbench run:",
        "",
        "| | TPC-B | create_booking |",
        "|---|---|---|",
        f"| latency, synchronous_commit on | {_num(on.get('tpcb_latency_ms'), 'ms')} | "
        f"{_num(on.get('booking_latency_ms'), 'ms')} |",
        f"| latency, synchronous_commit off | {_num(off.get('tpcb_latency_ms'), 'ms')} | "
        f"{_num(off.get('booking_latency_ms'), 'ms')} |",
        f"| latency, outbox and audit triggers disabled | | "
        f"{_num(bare.get('booking_latency_ms'), 'ms')} |",
        f"| latency, raw writes only (the same rows as plain SQL, triggers on) | | "
        f"{_num((profile.get('raw_writes') or {}).get('latency_ms'), 'ms')} |",
        f"| SQL statements per transaction | 5 | {_num(st.get('statements_per_booking'))} "
        "(auto_explain, nested statements included) |",
        f"| function calls per transaction | 0 | "
        f"{_num(tf.get('function_calls_per_booking'))} (track_functions, triggers included) |",
        "",
        f"Functions by self time, per booking, with `track_functions = all` (booking latency "
        f"then {_num(tf.get('booking_latency_ms'), 'ms')}: the instrumentation adds its own "
        "cost; self = time not spent in other tracked functions).",
        "",
        "| function | calls | self ms | total ms |",
        "|---|---|---|---|",
    ]
    for f in tf.get("functions", [])[:15]:
        lines.append(f"| {f['function']} | {f['calls_per_booking']:g} | "
                     f"{f['self_ms_per_booking']:.3f} | {f['total_ms_per_booking']:.3f} |")
    if st.get("slowest"):
        lines += ["", f"Slowest statements of one booking (auto_explain with ANALYZE, mean of "
                  f"{st['calls']} warm calls; a statement's time includes the statements and "
                  "triggers it runs):", "", "| statement | ms |", "|---|---|"]
        for row in st["slowest"][:10]:
            text = row["statement"].replace("|", "\\|")
            lines.append(f"| `{text}` | {row['ms_per_booking']:.3f} |")
    cpu = profile.get("cpu")
    if cpu and "error" in cpu:
        lines += ["", f"No CPU profile of the server: {cpu['error']}."]
    elif cpu:
        per = 1000 * cpu["samples"] / cpu.get("frequency", 1999) / max(cpu["bookings"], 1)
        lines += ["", f"What the server does for a booking (`bench/cpu_profile.py`: "
                  f"{cpu['how']}; {cpu['bookings']:,} bookings, {cpu['samples']:,} samples, "
                  f"about {per:.2f} ms of CPU per booking):", "",
                  "| what | function(s) | share of the backend's CPU |", "|---|---|---|"]
        for row in cpu["buckets"]:
            lines.append(f"| {row['what']} | `{row['functions'].replace('|', ' + ')}` | "
                         f"{100 * row['share']:.1f} % |")
    phases = profile.get("outbox_phases")
    if phases:
        base = phases["tps"].get("none")
        lines += ["", f"B4 taken apart: booking tps at {phases['clients']} clients, "
                  f"{phases['seconds']} s each, with the audit/outbox trigger "
                  "(record_row_change) on or off; \"raw writes\" write "
                  "the rows of a booking (booking, contact credit, ledger row, exam total) as "
                  "plain SQL, without create_booking's checks and helpers:", "",
                  "| workload, triggers | tps | vs its \"none\" |", "|---|---|---|"]
        raw_base = phases["tps"].get("raw writes, none")
        for name, tps in phases["tps"].items():
            ref = raw_base if name.startswith("raw") else base
            rel = f"{tps / ref:.2f}" if tps and ref else "–"
            lines.append(f"| {name} | {_num(tps)} | {rel} |")
    return "\n".join(lines)


def _replace(text: str, start: str, end: str, body: str) -> str:
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        return f"{head}{start}\n{body}\n{end}{tail}"
    return f"{text.rstrip()}\n\n{start}\n{body}\n{end}\n"


def update_readme(run: dict[str, Any], every_benchmark: bool = True) -> None:
    """The Results block from a run of every benchmark only (a run of some of them keeps the
    last full run's table; its figures are in its JSON); the profile block from any run that
    made one (it runs with B1)."""
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if every_benchmark:
        text = _replace(text, START, END, table(run))
    if run.get("profile"):
        text = _replace(text, PSTART, PEND, profile_table(run.get("profile"), run.get("stamp")))
    README.write_text(text)


def chart(run: dict[str, Any], stamp: str) -> Path | None:
    """Horizontal bars: each figure's ratio, its target as a tick (log scale: B7's ratio is in
    the hundreds). B6 (a value target) is drawn as target / value so that >= 1 passes too."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rows = []
    for fig in run["figures"]:
        if fig["status"] != "measured" or fig["target"] is None:
            continue
        label = fig["id"]
        ran, asked = fig["details"].get("clients"), fig["details"].get("clients_requested")
        if ran and asked and ran != asked:
            label += f" (ran {ran})"
        if fig["target_op"] == "<=":
            if fig["value"]:
                label += " (target / value)"
                rows.append((label, fig["target"] / fig["value"], 1.0, fig["passed"]))
        elif fig["ratio"] is not None:
            rows.append((label, fig["ratio"], fig["target"], fig["passed"]))
    if not rows:
        return None
    rows.reverse()
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(rows) + 1.6))
    ys = range(len(rows))
    colors = ["#2e7d32" if ok else "#c62828" for *_, ok in rows]
    ax.barh(list(ys), [r[1] for r in rows], color=colors, height=0.6)
    for y, (_, ratio, target, _) in zip(ys, rows, strict=True):
        ax.plot([target, target], [y - 0.4, y + 0.4], color="black", linewidth=2)
        ax.annotate(f"{ratio:.3g}", (ratio, y), xytext=(4, -4), textcoords="offset points",
                    fontsize=8)
    ax.set_yticks(list(ys), [r[0] for r in rows])
    ax.set_xscale("log")
    low = min(min(r[1] for r in rows), min(r[2] for r in rows))
    high = max(max(r[1] for r in rows), max(r[2] for r in rows))
    ax.set_xlim(low / 1.6, high * 2.5)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.axvline(1.0, color="#999999", linewidth=0.8, linestyle=":")
    ax.set_xlabel("ratio against the same-run reference (log scale); black tick = the "
                  "target; green = met, red = missed")
    ax.set_title(f"mockbook benchmarks {run['stamp']} ({run['machine']['cores']} cores, "
                 f"PostgreSQL {run['server']['version_num'] // 10000})")
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stamp}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scaling_chart(run: dict[str, Any], stamp: str) -> Path | None:
    """B8: booking and TPC-B throughput against clients (log 2), with the ratio on a second
    axis: where the booking stops scaling. results/<stamp>-scaling.png; None without B8."""
    points = sorted((f["details"]["clients"], f["value"], f["reference"], f["ratio"])
                    for f in run["figures"]
                    if f["bench"] == "B8" and f["status"] == "measured" and f["value"])
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients = [p[0] for p in points]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(clients, [p[1] for p in points], marker="o", label="create_booking tps")
    ax.plot(clients, [p[2] for p in points], marker="s", label="TPC-B tps (reference)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(clients, [str(c) for c in clients])
    ax.set_xlabel("pgbench clients")
    ax.set_ylabel("transactions per second")
    ratio_ax = ax.twinx()
    ratio_ax.plot(clients, [p[3] for p in points], color="#777777", linestyle="--",
                  marker=".", label="ratio (right axis)")
    ratio_ax.set_ylabel("create_booking / TPC-B")
    ratio_ax.set_ylim(0, max(max(p[3] for p in points) * 1.3, 0.5))
    lines = ax.get_legend_handles_labels()
    more = ratio_ax.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
    ax.set_title(f"B8 scaling {run['stamp']} ({run['machine']['cores']} cores, PostgreSQL "
                 f"{run['server']['version_num'] // 10000})")
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stamp}-scaling.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
