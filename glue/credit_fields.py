"""The five credit fields, as the database lists them (`mockbook_internal.credit_fields()`, the one
definition: db/functions/internal/credit_fields.sql).

A field's name is at once the `hubspot_contact_credits` column, the `credit_ledger.credit_field`
value and the HubSpot contact property. The glue needs the list before it has a database
connection (the portal catalogue, the adoption dry run on a production schema that has no
mockbook function yet), so it keeps this copy; tests/py/db/test_single_definitions.py proves it
equal to the database's list, so changing one without the other fails CI.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CreditField:
    name: str  # column = ledger value = HubSpot contact property
    label: str  # the HubSpot property's label
    pays_for: str  # what it pays for, as the audit notes word it


CREDIT_FIELDS: tuple[CreditField, ...] = (
    CreditField("sj_credits", "Situational Judgment credits", "Situational Judgment"),
    CreditField("cs_credits", "Clinical Skills credits", "Clinical Skills"),
    CreditField("sjmini_credits", "Mini-mock credits", "Mini-mock"),
    CreditField("mock_discussion_token", "Mock Discussion tokens", "Mock Discussion"),
    CreditField("shared_mock_credits", "Shared mock credits", "shared mock"),
)
CREDIT_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in CREDIT_FIELDS)
