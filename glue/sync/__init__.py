"""The HubSpot sync: ``push`` (outbox → HubSpot), ``pull`` (HubSpot → apply functions),
``importer`` (the first full import), ``reconcile`` (compare and repair), ``notes`` (the audit
trail as notes), ``webhooks`` / ``webhook_apply`` (HubSpot's change notifications, stored then
applied). Each takes the two seams, glue.db and glue.hubspot, as arguments.
"""
