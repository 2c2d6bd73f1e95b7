"""sealed API: internal schema, read-only tables, glue role

Revision ID: 0024_sealed_api_internal_schema
Revises: 0023_rules_in_one_place

Frozen by `mockbook db revision` from these db/ changes:
  new      db/schema/02_mockbook_internal.sql
  changed  db/schema/10_hubspot_contact_credits.sql
  changed  db/schema/11_hubspot_mock_exams.sql
  changed  db/schema/12_hubspot_bookings.sql
  changed  db/schema/13_sync_metadata.sql
  changed  db/schema/14_supabase_audit_log.sql
  changed  db/schema/15_credit_ledger.sql
  changed  db/schema/16_sync_queue.sql
  changed  db/schema/17_sync_errors.sql
  changed  db/schema/18_contact_credit_sync.sql
  changed  db/schema/19_webhook_events.sql
  changed  db/schema/20_adoption_report.sql
  changed  db/schema/20_booking_rules.sql
  changed  db/schema/21_waitlist_entries.sql
  changed  db/schema/22_idempotency_results.sql
  changed  db/functions/accept_offer.sql
  changed  db/functions/activate_due_exams.sql
  changed  db/functions/adjust_credits.sql
  changed  db/functions/admin_create_booking.sql
  changed  db/functions/apply_credit_delta.sql
  changed  db/functions/apply_pulled_bookings.sql
  changed  db/functions/apply_pulled_contacts.sql
  changed  db/functions/apply_pulled_exams.sql
  changed  db/functions/apply_pulled_prerequisites.sql
  changed  db/functions/book.sql
  changed  db/functions/booking_by_ref.sql
  changed  db/functions/booking_fingerprint.sql
  changed  db/functions/booking_json.sql
  changed  db/functions/booking_result.sql
  changed  db/functions/booking_rule.sql
  changed  db/functions/business_today.sql
  changed  db/functions/cancel_booking.sql
  changed  db/functions/cancel_booking_atomic.sql
  changed  db/functions/cancel_bookings.sql
  changed  db/functions/cancel_locked_booking.sql
  changed  db/functions/check_booking_rules.sql
  changed  db/functions/check_credit_field.sql
  changed  db/functions/check_exam_for_student.sql
  changed  db/functions/check_idempotency_key.sql
  changed  db/functions/check_invariants.sql
  changed  db/functions/check_text_arg.sql
  changed  db/functions/claim_audit_notes.sql
  changed  db/functions/claim_idempotency_key.sql
  changed  db/functions/claim_idempotent_call.sql
  changed  db/functions/claim_sync_batch.sql
  changed  db/functions/claim_webhook_events.sql
  changed  db/functions/complete_past_bookings.sql
  changed  db/functions/complete_sync_batch.sql
  changed  db/functions/contact_id_of_booking.sql
  changed  db/functions/create_booking.sql
  changed  db/functions/create_booking_atomic.sql
  changed  db/functions/create_booking_atomic_v1.sql
  changed  db/functions/credit_balance.sql
  changed  db/functions/credit_balances.sql
  changed  db/functions/credit_field_names.sql
  changed  db/functions/credit_field_of_token.sql
  changed  db/functions/credit_fields.sql
  changed  db/functions/credit_rules.sql
  changed  db/functions/exam_starts_at.sql
  changed  db/functions/exam_unbookable_reason.sql
  changed  db/functions/fail_sync_rows.sql
  changed  db/functions/find_contact.sql
  changed  db/functions/find_exam.sql
  changed  db/functions/finish_webhook_events.sql
  changed  db/functions/get_booking.sql
  changed  db/functions/get_contact_credits.sql
  changed  db/functions/get_credit_summary.sql
  changed  db/functions/get_sync_cursor.sql
  changed  db/functions/increment_exam_bookings.sql
  changed  db/functions/insert_booking.sql
  changed  db/functions/join_waitlist.sql
  changed  db/functions/leave_waitlist.sql
  changed  db/functions/legacy_attending_location.sql
  changed  db/functions/list_available_exams.sql
  changed  db/functions/list_contact_bookings.sql
  changed  db/functions/list_dead_letters.sql
  changed  db/functions/local_change_pending.sql
  changed  db/functions/lock_booking.sql
  changed  db/functions/lock_contact.sql
  changed  db/functions/lock_exam.sql
  changed  db/functions/lock_idempotency_key.sql
  changed  db/functions/mark_attendance.sql
  changed  db/functions/mark_audit_notes.sql
  changed  db/functions/new_booking_code.sql
  changed  db/functions/new_booking_row.sql
  changed  db/functions/note_pull_outcome.sql
  changed  db/functions/offer_free_seats.sql
  changed  db/functions/overwritten_credit_change.sql
  changed  db/functions/pick_credit.sql
  changed  db/functions/process_waitlist.sql
  changed  db/functions/pull_recheck_ids.sql
  changed  db/functions/pull_record_failed.sql
  changed  db/functions/pulled_date.sql
  changed  db/functions/pulled_int.sql
  changed  db/functions/pulled_text.sql
  changed  db/functions/pulled_timestamp.sql
  changed  db/functions/purge_idempotency_results.sql
  changed  db/functions/purge_sync_queue.sql
  changed  db/functions/push_state.sql
  changed  db/functions/raise_error.sql
  changed  db/functions/rebook.sql
  changed  db/functions/reconcile_state.sql
  changed  db/functions/record_credit_push.sql
  changed  db/functions/record_sync_run.sql
  changed  db/functions/refresh_analytics.sql
  changed  db/functions/release_seat.sql
  changed  db/functions/relink_contact.sql
  changed  db/functions/request_actor.sql
  changed  db/functions/requeue_for_push.sql
  changed  db/functions/requeue_records.sql
  changed  db/functions/resolve_dead_letters.sql
  changed  db/functions/save_sync_cursor.sql
  changed  db/functions/set_booking_rule.sql
  changed  db/functions/set_exam_capacity.sql
  changed  db/functions/set_exam_prerequisites.sql
  changed  db/functions/store_idempotent_result.sql
  changed  db/functions/store_webhook_events.sql
  changed  db/functions/sync_queue_next_due.sql
  changed  db/functions/take_seat.sql
  changed  db/functions/update_exam_prerequisites.sql
  changed  db/functions/validate_booking_args.sql
  changed  db/functions/write_exam_prerequisites.sql
  changed  db/triggers/credit_push_claimed.sql
  changed  db/triggers/credit_push_done.sql
  changed  db/triggers/require_booking_code.sql
  changed  db/triggers/row_change.sql
  changed  db/triggers/touch_updated_at.sql
  changed  db/triggers/waitlist_outbox.sql
  changed  db/views/booking_analytics.sql
  changed  db/views/credit_usage.sql
  changed  db/views/daily_booking_trends.sql
  changed  db/views/exam_utilization.sql
  changed  db/views/sync_health.sql
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0024_sealed_api_internal_schema'
down_revision = '0023_rules_in_one_place'
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
