-- Hand-written: back to the default fill (100).
ALTER TABLE hubspot_sync.hubspot_contact_credits RESET (fillfactor);
