"""mockbook glue: the Python side of the booking database (CLI, sync to HubSpot, cache)."""

__version__ = "1.0.0"
