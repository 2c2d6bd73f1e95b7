"""How the runner (env.py) says that it stopped: one block, what to do first, then what stopped
it and the rows or objects it names, then where the database is. `alembic` prints the block on
stderr (exit 1, no traceback); a caller embedding Alembic (`mockbook migrate`, the tests)
catches it as SystemExit and reads its parts. It lives beside the revisions, as dependents.py
does: env.py loads it without importing mockbook."""

from __future__ import annotations

# granted locks other sessions hold on mockbook's and production's tables: (table, who)
LOCK_HOLDERS_SQL = """
SELECT format('%%I.%%I', n.nspname, c.relname),
       format('pid %%s%%s, %%s%%s: %%s', a.pid,
              coalesce(' (' || nullif(a.application_name, '') || ')', ''),
              coalesce(a.state, 'unknown'),
              coalesce(' since ' || to_char(a.xact_start, 'HH24:MI:SS'), ''),
              coalesce(left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80), ''))
FROM pg_catalog.pg_locks AS l
JOIN pg_catalog.pg_class AS c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
WHERE l.granted AND l.pid <> pg_catalog.pg_backend_pid()
  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d
                    WHERE d.datname = current_database())
  AND n.nspname IN ('hubspot_sync', 'mockbook_internal', 'mockbook')
  AND c.relkind IN ('r', 'p', 'm', 'v', 'S')
  AND (%s::text[] IS NULL OR format('%%I.%%I', n.nspname, c.relname) = ANY (%s::text[]))
GROUP BY 1, 2
ORDER BY 1, 2
"""

# what to do, by SQLSTATE, where PostgreSQL's error has no hint of its own
_HINTS = {
    "55P03": "Another session held a lock on the tables named below longer than the lock "
             "timeout: let it finish (or end it), then run it again.",
    "40P01": "A live call deadlocked with it on the tables named below: run it again when "
             "traffic is low.",
    "57014": "The statement timeout of the role running the migration cut it off: run it as the "
             "schema owner with a longer statement_timeout.",
    "08006": "The connection to the server was lost while it ran (a restart, a network cut): "
             "the server kept nothing of the transaction that was open; run it again.",
    "0A000": "Drop or change the object PostgreSQL names below (re-create it after), then run "
             "it again.",
    "2BP01": "Drop or change the object PostgreSQL names below (re-create it after), then run "
             "it again.",
}
LOCKS = ("55P03", "40P01")
_OURS = ("2BP01",)


class Refused(SystemExit):
    """Stopped, said as one block: the hint first, then what stopped it and its detail (the rows
    or objects it names), then where the database is. ``exit_code``: 1 (fix the rows or
    objects), 75 (a lock, a lost connection: try again later)."""

    def __init__(self, hint: str, message: str, detail: str | None = None,
                 state: str | None = None, *, exit_code: int = 1, sqlstate: str | None = None
                 ) -> None:
        self.hint, self.message, self.detail, self.state = hint, message, detail, state
        self.exit_code, self.sqlstate = exit_code, sqlstate
        lines = [f"mockbook: {hint}", message.rstrip(":") + (":" if detail else "")]
        lines += [f"  {line}" for line in (detail or "").splitlines() if line.strip()]
        if state:
            lines.append(state)
        super().__init__("\n".join(lines))

    def as_dict(self) -> dict:
        return {"hint": self.hint, "message": self.message, "detail": self.detail,
                "state": self.state, "sqlstate": self.sqlstate}


def from_error(error: BaseException, state: str, holders: list[tuple[str, str]], *,
               sqlstate: str | None = None) -> Refused:
    """A database error (SQLAlchemy's, or the driver's) said as a refusal; ``holders``: the
    locks others held when it was a lock timeout or a deadlock (LOCK_HOLDERS_SQL's rows);
    ``sqlstate``: what it stands for, when not its own (the lock step's statement_timeout is
    a lock not granted in time)."""
    orig = getattr(error, "orig", None) or error
    diag = getattr(orig, "diag", None)
    own = getattr(orig, "sqlstate", None)
    sqlstate = sqlstate or own
    message = (getattr(diag, "message_primary", None) or str(orig)).strip()
    if sqlstate != own and sqlstate == "55P03":
        message = "the lock step did not get its tables' locks in the time it may wait"
    detail = getattr(diag, "message_detail", None)
    # PostgreSQL's own hint, but where it would say DROP ... CASCADE (which drops what others
    # built) or where it has none
    hint = (_HINTS.get(sqlstate or "") if sqlstate in _OURS else None) or getattr(
        diag, "message_hint", None) or _HINTS.get(
        sqlstate or "", "Fix what PostgreSQL names below, then run it again.")
    if sqlstate in LOCKS:
        tables = sorted({table for table, _ in holders})
        message = f"{message} (a lock on {', '.join(tables) if tables else 'its tables'})"
        detail = "\n".join(f"{table}: held by {who}" for table, who in holders) or (
            "no other session holds a lock on them now: run it again")
    return Refused(hint, message, detail, state,
                   exit_code=75 if sqlstate in (*LOCKS, "08006") else 1, sqlstate=sqlstate)
