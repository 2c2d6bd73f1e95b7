-- Hand-written: hubspot_contact_credits keeps a fifth of each page free
-- so a booking's credit deduction is a HOT update (no entry in the table's 10 indexes). Setting
-- fillfactor takes a SHARE UPDATE EXCLUSIVE lock: reads and writes of the table go on. Pages
-- already written keep their fill until a rewrite (docs/operations.md).
ALTER TABLE hubspot_sync.hubspot_contact_credits SET (fillfactor = 80);
