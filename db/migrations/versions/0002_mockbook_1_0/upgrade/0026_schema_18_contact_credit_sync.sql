-- Frozen copy of db/schema/18_contact_credit_sync.sql (new).
-- What HubSpot last held for each contact's credits, as far as the glue knows: the base of the
-- credit merge (docs/hubspot.md). A pulled HubSpot value H changes the local balance by
-- H - credits[field] (a 'hubspot_adjustment' ledger row), so a local deduction not pushed yet is
-- never overwritten. Written by the pull and the import (credits := the values read; source
-- 'pull') and by the push (record_credit_push; source 'push'): `pushing` = the values being sent,
-- recorded before the HubSpot call, then credits := those values once HubSpot accepted them. A
-- pulled value equal to `pushing` is the push's own write coming back, not an admin's change.
-- One row per contact whose credits HubSpot and Postgres have agreed on at least once.
CREATE TABLE hubspot_sync.contact_credit_sync (
    contact_id uuid PRIMARY KEY
        REFERENCES hubspot_sync.hubspot_contact_credits (id) ON DELETE CASCADE,
    credits jsonb NOT NULL DEFAULT '{}',
    pushing jsonb,
    pushing_at timestamptz,
    source text NOT NULL,
    hubspot_modified_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contact_credit_sync_credits_check CHECK (jsonb_typeof(credits) = 'object'),
    CONSTRAINT contact_credit_sync_pushing_check
        CHECK (pushing IS NULL OR jsonb_typeof(pushing) = 'object'),
    CONSTRAINT contact_credit_sync_source_check CHECK (source IN ('pull', 'push'))
);

-- security
ALTER TABLE hubspot_sync.contact_credit_sync ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.contact_credit_sync
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.contact_credit_sync FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE hubspot_sync.contact_credit_sync TO service_role;
