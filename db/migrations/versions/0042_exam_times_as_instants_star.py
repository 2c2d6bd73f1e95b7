"""exam times as instants, started exams and expired offers, references and callers

Revision ID: 0042_exam_times_as_instants_star
Revises: 0041_a_deadlock_with_an_outside

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/schema/02_mockbook_internal.sql
  changed  db/schema/10_hubspot_contact_credits.sql
  changed  db/schema/11_hubspot_mock_exams.sql
  changed  db/schema/12_hubspot_bookings.sql
  changed  db/schema/15_credit_ledger.sql
  changed  db/schema/18_contact_credit_sync.sql
  changed  db/schema/19_production_not_owned.sql
  changed  db/schema/19_webhook_events.sql
  changed  db/schema/20_booking_rules.sql
  changed  db/schema/21_waitlist_entries.sql
  changed  db/schema/22_idempotency_results.sql
  changed  db/schema/23_exam_hubspot_sync.sql
  changed  db/functions/accept_offer.sql
  changed  db/functions/activate_due_exams.sql
  changed  db/functions/adjust_credits.sql
  changed  db/functions/admin_create_booking.sql
  new      db/functions/apply_exam_change.sql
  changed  db/functions/apply_pulled_bookings.sql
  changed  db/functions/apply_pulled_contacts.sql
  changed  db/functions/apply_pulled_exams.sql
  changed  db/functions/book.sql
  changed  db/functions/booking_by_ref.sql
  new      db/functions/booking_code_problem.sql
  changed  db/functions/booking_fingerprint.sql
  changed  db/functions/booking_rule.sql
  changed  db/functions/booking_rule_kinds.sql
  changed  db/functions/booking_rules.sql
  new      db/functions/business_timezone.sql
  changed  db/functions/business_today.sql
  changed  db/functions/cancel_booking.sql
  changed  db/functions/cancel_bookings.sql
  changed  db/functions/cancel_locked_booking.sql
  changed  db/functions/check_booking_rules.sql
  changed  db/functions/check_exam_for_student.sql
  changed  db/functions/check_invariants.sql
  changed  db/functions/check_prerequisite_ids.sql
  new      db/functions/check_student_caller.sql
  changed  db/functions/claim_audit_notes.sql
  changed  db/functions/claim_idempotency_key.sql
  changed  db/functions/claim_idempotent_call.sql
  changed  db/functions/claim_sync_batch.sql
  new      db/functions/clock_now.sql
  changed  db/functions/close_day_places.sql
  changed  db/functions/complete_past_bookings.sql
  changed  db/functions/create_booking.sql
  changed  db/functions/create_booking_atomic.sql
  changed  db/functions/create_booking_atomic_v1.sql
  changed  db/functions/credit_rules.sql
  new      db/functions/exam_refusal.sql
  changed  db/functions/exam_starts_at.sql
  new      db/functions/exam_time_problem.sql
  changed  db/functions/exam_unbookable_reason.sql
  changed  db/functions/find_contact.sql
  changed  db/functions/insert_booking.sql
  changed  db/functions/join_waitlist.sql
  changed  db/functions/leave_waitlist.sql
  changed  db/functions/list_available_exams.sql
  changed  db/functions/list_contact_bookings.sql
  changed  db/functions/mark_attendance.sql
  changed  db/functions/new_booking_code.sql
  changed  db/functions/offer_free_seats.sql
  changed  db/functions/pick_credit.sql
  changed  db/functions/process_waitlist.sql
  changed  db/functions/push_state.sql
  changed  db/functions/raise_error.sql
  changed  db/functions/rebook.sql
  changed  db/functions/release_seat.sql
  changed  db/functions/relink_contact.sql
  changed  db/functions/request_actor.sql
  changed  db/functions/requeue_for_push.sql
  new      db/functions/require_admin.sql
  changed  db/functions/set_booking_rule.sql
  changed  db/functions/set_exam_capacity.sql
  changed  db/functions/set_exam_prerequisites.sql
  changed  db/functions/take_seat.sql
  changed  db/functions/update_exam_prerequisites.sql
  changed  db/functions/validate_booking_args.sql
  changed  db/triggers/credit_push_claimed.sql
  new      db/triggers/exam_instants.sql
  changed  db/triggers/require_booking_code.sql
  changed  db/triggers/row_change.sql
  changed  db/triggers/touch_updated_at.sql
  changed  db/triggers/waitlist_outbox.sql
  changed  db/views/credit_usage.sql
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0042_exam_times_as_instants_star'
down_revision = '0041_a_deadlock_with_an_outside'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _run("upgrade")


def downgrade() -> None:
    _run("downgrade")


# The runner lives in this file, not in the project's package: the revision runs exactly as it
# was committed (db/migrations/revisions.lock pins it), whatever the package becomes later.
# The SQL frozen beside it in <revision>/upgrade|downgrade/ runs in file-name order, in the
# revision's transaction; a *.nontx.sql file runs outside it (CREATE INDEX CONCURRENTLY,
# VALIDATE CONSTRAINT), one statement per `;` (no dollar quoting there).
def _run(direction: str) -> None:
    files = sorted((Path(__file__).with_suffix("") / direction).glob("*.sql"))
    if not files:
        raise RuntimeError(f"{__file__}: no frozen SQL in {direction}/")
    for path in files:
        sql = path.read_text(encoding="utf-8")
        if path.name.endswith(".nontx.sql"):
            lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
            with op.get_context().autocommit_block():
                for statement in "\n".join(lines).split(";"):
                    if statement.strip():
                        _execute(statement.strip())
        else:
            _execute(sql)


def _execute(sql: str) -> None:
    if op.get_context().as_sql:
        # --sql prints the SQL as frozen: every colon escaped, so text() sees no bind parameter
        op.execute(sa.text(sql.replace(":", "\\:")))
    else:
        # the driver runs a multi-statement script with the simple query protocol
        op.get_bind().connection.driver_connection.execute(sql)
