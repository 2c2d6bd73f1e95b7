"""contracts in comments

Revision ID: 0045_contracts_in_comments
Revises: 0044_audit_notes_from_a_window_c

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/schema/02_mockbook_internal.sql
  changed  db/schema/12_hubspot_bookings.sql
  changed  db/schema/13_sync_metadata.sql
  changed  db/schema/19_production_not_owned.sql
  changed  db/schema/20_adoption_report.sql
  changed  db/schema/20_booking_rules.sql
  changed  db/schema/22_idempotency_results.sql
  moved    db/functions/api/accept_offer.sql
           (from db/functions/accept_offer.sql)
  moved    db/functions/api/adjust_credits.sql
           (from db/functions/adjust_credits.sql)
  moved    db/functions/api/admin_create_booking.sql
           (from db/functions/admin_create_booking.sql)
  moved    db/functions/api/business_today.sql
           (from db/functions/business_today.sql)
  moved    db/functions/api/cancel_booking.sql
           (from db/functions/cancel_booking.sql)
  moved    db/functions/api/cancel_booking_atomic.sql
           (from db/functions/cancel_booking_atomic.sql)
  moved    db/functions/api/cancel_bookings.sql
           (from db/functions/cancel_bookings.sql)
  moved    db/functions/api/check_idempotency_key.sql
           (from db/functions/check_idempotency_key.sql)
  moved    db/functions/api/complete_past_bookings.sql
           (from db/functions/complete_past_bookings.sql)
  moved    db/functions/api/create_booking.sql
           (from db/functions/create_booking.sql)
  moved    db/functions/api/create_booking_atomic.sql
           (from db/functions/create_booking_atomic.sql)
  moved    db/functions/api/create_booking_atomic_v1.sql
           (from db/functions/create_booking_atomic_v1.sql)
  moved    db/functions/api/credit_rules.sql
           (from db/functions/credit_rules.sql)
  moved    db/functions/api/get_booking.sql
           (from db/functions/get_booking.sql)
  moved    db/functions/api/get_contact_credits.sql
           (from db/functions/get_contact_credits.sql)
  moved    db/functions/api/get_credit_summary.sql
           (from db/functions/get_credit_summary.sql)
  moved    db/functions/api/increment_exam_bookings.sql
           (from db/functions/increment_exam_bookings.sql)
  moved    db/functions/api/join_waitlist.sql
           (from db/functions/join_waitlist.sql)
  moved    db/functions/api/leave_waitlist.sql
           (from db/functions/leave_waitlist.sql)
  moved    db/functions/api/list_available_exams.sql
           (from db/functions/list_available_exams.sql)
  moved    db/functions/api/list_contact_bookings.sql
           (from db/functions/list_contact_bookings.sql)
  moved    db/functions/api/mark_attendance.sql
           (from db/functions/mark_attendance.sql)
  moved    db/functions/api/process_waitlist.sql
           (from db/functions/process_waitlist.sql)
  moved    db/functions/api/rebook.sql
           (from db/functions/rebook.sql)
  moved    db/functions/api/set_booking_rule.sql
           (from db/functions/set_booking_rule.sql)
  moved    db/functions/api/set_business_timezone.sql
           (from db/functions/set_business_timezone.sql)
  moved    db/functions/api/set_exam_capacity.sql
           (from db/functions/set_exam_capacity.sql)
  moved    db/functions/api/set_exam_prerequisites.sql
           (from db/functions/set_exam_prerequisites.sql)
  moved    db/functions/api/update_exam_prerequisites.sql
           (from db/functions/update_exam_prerequisites.sql)
  moved    db/functions/internal/activate_due_exams.sql
           (from db/functions/activate_due_exams.sql)
  moved    db/functions/internal/apply_credit_delta.sql
           (from db/functions/apply_credit_delta.sql)
  moved    db/functions/internal/apply_exam_change.sql
           (from db/functions/apply_exam_change.sql)
  moved    db/functions/internal/apply_pulled_bookings.sql
           (from db/functions/apply_pulled_bookings.sql)
  moved    db/functions/internal/apply_pulled_contacts.sql
           (from db/functions/apply_pulled_contacts.sql)
  moved    db/functions/internal/apply_pulled_exams.sql
           (from db/functions/apply_pulled_exams.sql)
  moved    db/functions/internal/apply_pulled_prerequisites.sql
           (from db/functions/apply_pulled_prerequisites.sql)
  moved    db/functions/internal/book.sql
           (from db/functions/book.sql)
  moved    db/functions/internal/booking_by_ref.sql
           (from db/functions/booking_by_ref.sql)
  moved    db/functions/internal/booking_code_problem.sql
           (from db/functions/booking_code_problem.sql)
  moved    db/functions/internal/booking_fingerprint.sql
           (from db/functions/booking_fingerprint.sql)
  moved    db/functions/internal/booking_json.sql
           (from db/functions/booking_json.sql)
  moved    db/functions/internal/booking_result.sql
           (from db/functions/booking_result.sql)
  moved    db/functions/internal/booking_rule.sql
           (from db/functions/booking_rule.sql)
  moved    db/functions/internal/booking_rule_kinds.sql
           (from db/functions/booking_rule_kinds.sql)
  moved    db/functions/internal/booking_rules.sql
           (from db/functions/booking_rules.sql)
  moved    db/functions/internal/business_timezone.sql
           (from db/functions/business_timezone.sql)
  moved    db/functions/internal/cancel_locked_booking.sql
           (from db/functions/cancel_locked_booking.sql)
  moved    db/functions/internal/check_booking_rules.sql
           (from db/functions/check_booking_rules.sql)
  moved    db/functions/internal/check_credit_field.sql
           (from db/functions/check_credit_field.sql)
  moved    db/functions/internal/check_exam_for_student.sql
           (from db/functions/check_exam_for_student.sql)
  moved    db/functions/internal/check_idempotency_key_arg.sql
           (from db/functions/check_idempotency_key_arg.sql)
  moved    db/functions/internal/check_invariants.sql
           (from db/functions/check_invariants.sql)
  moved    db/functions/internal/check_prerequisite_exams.sql
           (from db/functions/check_prerequisite_exams.sql)
  moved    db/functions/internal/check_prerequisite_ids.sql
           (from db/functions/check_prerequisite_ids.sql)
  moved    db/functions/internal/check_student_caller.sql
           (from db/functions/check_student_caller.sql)
  moved    db/functions/internal/check_text_arg.sql
           (from db/functions/check_text_arg.sql)
  moved    db/functions/internal/claim_audit_notes.sql
           (from db/functions/claim_audit_notes.sql)
  moved    db/functions/internal/claim_idempotency_key.sql
           (from db/functions/claim_idempotency_key.sql)
  moved    db/functions/internal/claim_idempotent_call.sql
           (from db/functions/claim_idempotent_call.sql)
  moved    db/functions/internal/claim_sync_batch.sql
           (from db/functions/claim_sync_batch.sql)
  moved    db/functions/internal/claim_webhook_events.sql
           (from db/functions/claim_webhook_events.sql)
  moved    db/functions/internal/clock_now.sql
           (from db/functions/clock_now.sql)
  moved    db/functions/internal/close_day_places.sql
           (from db/functions/close_day_places.sql)
  moved    db/functions/internal/complete_sync_batch.sql
           (from db/functions/complete_sync_batch.sql)
  moved    db/functions/internal/contact_id_of_booking.sql
           (from db/functions/contact_id_of_booking.sql)
  moved    db/functions/internal/credit_balance.sql
           (from db/functions/credit_balance.sql)
  moved    db/functions/internal/credit_balances.sql
           (from db/functions/credit_balances.sql)
  moved    db/functions/internal/credit_field_names.sql
           (from db/functions/credit_field_names.sql)
  moved    db/functions/internal/credit_field_of_token.sql
           (from db/functions/credit_field_of_token.sql)
  moved    db/functions/internal/credit_fields.sql
           (from db/functions/credit_fields.sql)
  moved    db/functions/internal/exam_refusal.sql
           (from db/functions/exam_refusal.sql)
  moved    db/functions/internal/exam_starts_at.sql
           (from db/functions/exam_starts_at.sql)
  moved    db/functions/internal/exam_time_problem.sql
           (from db/functions/exam_time_problem.sql)
  moved    db/functions/internal/exam_unbookable_reason.sql
           (from db/functions/exam_unbookable_reason.sql)
  moved    db/functions/internal/fail_sync_rows.sql
           (from db/functions/fail_sync_rows.sql)
  moved    db/functions/internal/find_contact.sql
           (from db/functions/find_contact.sql)
  moved    db/functions/internal/find_exam.sql
           (from db/functions/find_exam.sql)
  moved    db/functions/internal/finish_webhook_events.sql
           (from db/functions/finish_webhook_events.sql)
  moved    db/functions/internal/get_sync_cursor.sql
           (from db/functions/get_sync_cursor.sql)
  moved    db/functions/internal/insert_booking.sql
           (from db/functions/insert_booking.sql)
  moved    db/functions/internal/legacy_attending_location.sql
           (from db/functions/legacy_attending_location.sql)
  moved    db/functions/internal/list_dead_letters.sql
           (from db/functions/list_dead_letters.sql)
  moved    db/functions/internal/local_change_pending.sql
           (from db/functions/local_change_pending.sql)
  moved    db/functions/internal/lock_booking.sql
           (from db/functions/lock_booking.sql)
  moved    db/functions/internal/lock_contact.sql
           (from db/functions/lock_contact.sql)
  moved    db/functions/internal/lock_contacts.sql
           (from db/functions/lock_contacts.sql)
  moved    db/functions/internal/lock_day_places.sql
           (from db/functions/lock_day_places.sql)
  moved    db/functions/internal/lock_exam.sql
           (from db/functions/lock_exam.sql)
  moved    db/functions/internal/lock_idempotency_key.sql
           (from db/functions/lock_idempotency_key.sql)
  moved    db/functions/internal/lock_waitlist_entry.sql
           (from db/functions/lock_waitlist_entry.sql)
  moved    db/functions/internal/mark_audit_notes.sql
           (from db/functions/mark_audit_notes.sql)
  moved    db/functions/internal/new_booking_code.sql
           (from db/functions/new_booking_code.sql)
  moved    db/functions/internal/new_booking_row.sql
           (from db/functions/new_booking_row.sql)
  moved    db/functions/internal/note_pull_outcome.sql
           (from db/functions/note_pull_outcome.sql)
  moved    db/functions/internal/offer_free_seats.sql
           (from db/functions/offer_free_seats.sql)
  moved    db/functions/internal/overwritten_credit_change.sql
           (from db/functions/overwritten_credit_change.sql)
  moved    db/functions/internal/pick_credit.sql
           (from db/functions/pick_credit.sql)
  moved    db/functions/internal/prelock_exam_changes.sql
           (from db/functions/prelock_exam_changes.sql)
  moved    db/functions/internal/pull_recheck_ids.sql
           (from db/functions/pull_recheck_ids.sql)
  moved    db/functions/internal/pull_record_failed.sql
           (from db/functions/pull_record_failed.sql)
  moved    db/functions/internal/pulled_contact_id.sql
           (from db/functions/pulled_contact_id.sql)
  moved    db/functions/internal/pulled_created_at.sql
           (from db/functions/pulled_created_at.sql)
  moved    db/functions/internal/pulled_date.sql
           (from db/functions/pulled_date.sql)
  moved    db/functions/internal/pulled_int.sql
           (from db/functions/pulled_int.sql)
  moved    db/functions/internal/pulled_text.sql
           (from db/functions/pulled_text.sql)
  moved    db/functions/internal/pulled_timestamp.sql
           (from db/functions/pulled_timestamp.sql)
  moved    db/functions/internal/purge_idempotency_results.sql
           (from db/functions/purge_idempotency_results.sql)
  moved    db/functions/internal/purge_sync_queue.sql
           (from db/functions/purge_sync_queue.sql)
  moved    db/functions/internal/push_state.sql
           (from db/functions/push_state.sql)
  moved    db/functions/internal/raise_error.sql
           (from db/functions/raise_error.sql)
  moved    db/functions/internal/reconcile_state.sql
           (from db/functions/reconcile_state.sql)
  moved    db/functions/internal/record_credit_push.sql
           (from db/functions/record_credit_push.sql)
  moved    db/functions/internal/record_sync_run.sql
           (from db/functions/record_sync_run.sql)
  moved    db/functions/internal/refresh_analytics.sql
           (from db/functions/refresh_analytics.sql)
  moved    db/functions/internal/release_seat.sql
           (from db/functions/release_seat.sql)
  moved    db/functions/internal/relink_contact.sql
           (from db/functions/relink_contact.sql)
  moved    db/functions/internal/request_actor.sql
           (from db/functions/request_actor.sql)
  moved    db/functions/internal/requeue_for_push.sql
           (from db/functions/requeue_for_push.sql)
  moved    db/functions/internal/requeue_records.sql
           (from db/functions/requeue_records.sql)
  moved    db/functions/internal/require_admin.sql
           (from db/functions/require_admin.sql)
  moved    db/functions/internal/resolve_dead_letters.sql
           (from db/functions/resolve_dead_letters.sql)
  moved    db/functions/internal/save_sync_cursor.sql
           (from db/functions/save_sync_cursor.sql)
  moved    db/functions/internal/store_idempotent_result.sql
           (from db/functions/store_idempotent_result.sql)
  moved    db/functions/internal/store_webhook_events.sql
           (from db/functions/store_webhook_events.sql)
  moved    db/functions/internal/sync_queue_next_due.sql
           (from db/functions/sync_queue_next_due.sql)
  moved    db/functions/internal/take_seat.sql
           (from db/functions/take_seat.sql)
  moved    db/functions/internal/trend_location.sql
           (from db/functions/trend_location.sql)
  moved    db/functions/internal/validate_booking_args.sql
           (from db/functions/validate_booking_args.sql)
  new      db/functions/internal/wait_for_lock.sql
  moved    db/functions/internal/write_exam_prerequisites.sql
           (from db/functions/write_exam_prerequisites.sql)
  changed  db/triggers/credit_push_claimed.sql
  changed  db/triggers/credit_push_done.sql
  changed  db/triggers/exam_instants.sql
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

revision = '0045_contracts_in_comments'
down_revision = '0044_audit_notes_from_a_window_c'
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
