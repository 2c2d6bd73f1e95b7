"""The module database's business time zone put back to the default after a test changed it.

set_business_timezone stores the zone with ALTER DATABASE, which outlives the test, and compiles
it into mockbook_internal.business_timezone(): the setting is removed, the default compiled in
again (as an install of the functions does) and every exam's instants derived again.
"""

from __future__ import annotations

import psycopg
from psycopg import sql


def reset_business_timezone(db: psycopg.Connection) -> None:
    db.execute(sql.SQL("ALTER DATABASE {} RESET mockbook.business_timezone").format(
        sql.Identifier(db.info.dbname)))
    db.execute("RESET mockbook.business_timezone")
    db.execute("SELECT mockbook_internal.stamp_business_timezone()")
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = start_time")
