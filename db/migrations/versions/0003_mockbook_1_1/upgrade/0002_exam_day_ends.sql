-- Hand-written: an exam without a readable end time ends when the next day begins, at that day's
-- first instant (mockbook_internal.day_start, run above). The exams stored before read it as
-- PostgreSQL reads the next day's midnight, the second 00:00 where the clocks go back over it:
-- their exam_ends_at is derived again. Only that derived column changes (record_row_change and
-- touch_updated_at leave it out: no audit or outbox row). An unknown business time zone (the
-- zone's function refuses) leaves them to set_business_timezone, which derives every exam again.
DO $$
BEGIN
    UPDATE hubspot_sync.hubspot_mock_exams AS e
    SET exam_ends_at = mockbook_internal.day_start(e.exam_date + 1)
    WHERE mockbook_internal.exam_starts_at(e.exam_date, e.end_time) IS NULL
      AND e.exam_ends_at IS DISTINCT FROM mockbook_internal.day_start(e.exam_date + 1);
EXCEPTION WHEN SQLSTATE 'PT400' THEN
    NULL;
END
$$;
