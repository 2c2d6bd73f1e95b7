"""A local HubSpot CRM API for tests, the demo and ``mockbook sandbox``.

    with Sandbox(conformance=True, access_token="t") as hs:
        client = HubSpot(access_token="t", host=hs.base_url)
        ...
        assert hs.conformance_failures == []
"""

from .conformance import Conformance
from .faults import Faults
from .foreground import serve
from .sandbox import Sandbox
from .store import BOOKINGS, CONTACTS, EXAMS, NOTES

# How it works (the detail of the module docstring):
#
# ``Sandbox(port=0, *, host, rate_limit=100, rate_window=10.0, daily_limit=250_000, search_rate=5,
# search_lag=0.0, conformance=True, spec_dir=None, access_token=None, portal_id, first_id,
# seed, setup=False, portal_timezone="America/Toronto", prerequisite_type_id=1340)`` (record ids
# count up from ``first_id``, default 10000):
#
# - ``start()`` / ``stop()`` / context manager; ``base_url``; ``reset()``.
# - ``faults`` (:class:`Faults`): ``error_rate``, ``latency``, ``storm(seconds)``, ``timeout_rate``
#   with ``timeout_seconds``, ``lost_response_rate``, ``seed``, ``spare_portal_reads``.
# - ``limiter.configure(rate_limit=..., rate_window=..., daily_limit=..., search_rate=...)``,
#   ``search_lag`` (attribute, seconds).
# - The portal (glue/sandbox/schema.py): it starts **empty**, like a new HubSpot account:
#   contacts ``0-1`` (unique ``email``) and notes ``0-46`` with HubSpot's own properties, and
#   their default association. ``setup=True`` or ``setup()`` makes it a **ready portal** (what
#   ``mockbook hubspot setup`` creates, from glue.hubspot.setup's catalogue): bookings
# ``2-50158943``   (unique ``booking_id``), mock exams ``2-50158939``, every property mockbook uses,
# the   booking/contact/exam/note associations and the paired exam -> exam prerequisite label
#   (``prerequisite_type_id``). ``POST /crm-object-schemas/v3/schemas``,
#   ``/crm/v3/properties/{type}`` (and ``/groups``), ``/crm/v4/associations/{from}/{to}/labels``
#   create more. Writes are checked as HubSpot checks them (unknown property, type, enumeration
#   options, dates at midnight UTC, a note's ``hs_timestamp``, defined association types):
#   400 VALIDATION_ERROR with HubSpot's body. ``register_object_type(type_id, name,
#   unique_properties)`` adds a type that accepts any property (a test helper).
# - The daily limit resets at midnight in ``portal_timezone``.
# - ``reject_when(type_id, predicate, message)``: make matching records permanently invalid.
# - Admin actions: ``associate(from_type, from_id, to_type, to_id, type_ids)``,
#   ``dissociate(...)``, ``archive(type, id)``, ``define_association_label(from, to, type_id,
#   label, inverse_type_id, inverse_label)`` (a paired label: the inverse shows the other way);
#   ``POST /crm/v3/objects/contacts/merge`` merges contacts into a new record with a new id
#   (``hs_merged_object_ids``; both old ids read as it); reads honour ``propertiesWithHistory``
#   (every past value; a batch read asking for it takes at most 50 inputs, as HubSpot's).
# - State: ``objects(type)``, ``get(type, id)``, ``get_by(type, prop, value)``,
#   ``associations(type, id)``, ``association_type_id(from, to)``, ``requests``, ``stats``,
#   ``conformance_failures``, ``errors``; seeding: ``seed(type, rows)``, ``touch(type, id,
# **props)``.
#
# ``serve(port, host='127.0.0.1', **options)`` runs one in the foreground (conformance off).
#
# Conformance (``Conformance(spec_dir).check(...)``) holds requests to HubSpot's published specs,
# which are stricter than HubSpot itself: a search body must carry ``filterGroups``, ``sorts``,
# ``properties``, ``limit`` and ``after`` (``"0"`` for the first page); a batch read
# ``properties`` and ``propertiesWithHistory``; a create (single or batch) ``associations`` (may be
# ``[]``); property values must be strings.

__all__ = ["BOOKINGS", "CONTACTS", "EXAMS", "NOTES", "Conformance", "Faults", "Sandbox", "serve"]
