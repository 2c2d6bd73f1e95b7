"""Booking core

Revision ID: 0006_booking_core
Revises: 0005_ledger_outbox_security

Frozen by `mockbook db revision` from these db/ changes:
  new      db/functions/adjust_credits.sql
  new      db/functions/admin_create_booking.sql
  new      db/functions/apply_credit_delta.sql
  new      db/functions/booking_by_ref.sql
  new      db/functions/booking_fingerprint.sql
  new      db/functions/booking_result.sql
  new      db/functions/business_today.sql
  new      db/functions/cancel_booking.sql
  new      db/functions/cancel_booking_atomic.sql
  new      db/functions/cancel_bookings.sql
  new      db/functions/cancel_locked_booking.sql
  new      db/functions/check_exam_for_student.sql
  new      db/functions/check_idempotency_key.sql
  new      db/functions/check_text_arg.sql
  new      db/functions/claim_idempotency_key.sql
  new      db/functions/contact_id_of_booking.sql
  new      db/functions/create_booking.sql
  new      db/functions/create_booking_atomic.sql
  new      db/functions/credit_balance.sql
  new      db/functions/credit_field_of_token.sql
  new      db/functions/credit_rules.sql
  new      db/functions/exam_unbookable_reason.sql
  new      db/functions/find_contact.sql
  new      db/functions/find_exam.sql
  new      db/functions/get_booking.sql
  new      db/functions/get_contact_credits.sql
  new      db/functions/get_credit_summary.sql
  new      db/functions/increment_exam_bookings.sql
  new      db/functions/insert_booking.sql
  new      db/functions/list_available_exams.sql
  new      db/functions/list_contact_bookings.sql
  new      db/functions/lock_contact.sql
  new      db/functions/lock_exam.sql
  new      db/functions/mark_attendance.sql
  new      db/functions/new_booking_code.sql
  new      db/functions/new_booking_row.sql
  new      db/functions/pick_credit.sql
  new      db/functions/raise_error.sql
  new      db/functions/rebook.sql
  new      db/functions/set_exam_capacity.sql
  new      db/functions/validate_booking_args.sql
  new      db/triggers/audit.sql
  new      db/triggers/require_booking_code.sql
  new      db/triggers/touch_updated_at.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0006_booking_core'
down_revision = '0005_ledger_outbox_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
