-- Undo db/functions/internal/withdraw_excess_offers.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.withdraw_excess_offers;
