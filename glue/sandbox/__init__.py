"""A local HubSpot CRM API for tests, the demo and ``mockbook sandbox`` (SPEC section 9).

    with Sandbox(conformance=True, access_token="t") as hs:
        client = HubSpot(access_token="t", host=hs.base_url)
        ...
        assert hs.conformance_failures == []

``Sandbox(port=0, *, host, rate_limit=100, rate_window=10.0, daily_limit=250_000, search_rate=5,
search_lag=0.0, conformance=True, spec_dir=None, access_token=None, portal_id, first_id,
seed)`` (record ids count up from ``first_id``, default 10000):

- ``start()`` / ``stop()`` / context manager; ``base_url``; ``reset()``.
- ``faults`` (:class:`Faults`): ``error_rate``, ``latency``, ``storm(seconds)``, ``timeout_rate``
  with ``timeout_seconds``, ``lost_response_rate``, ``seed``.
- ``limiter.configure(rate_limit=..., rate_window=..., daily_limit=..., search_rate=...)``,
  ``search_lag`` (attribute, seconds).
- Types: contacts ``0-1`` (unique ``email``), notes ``0-46``, bookings ``2-50158943`` (unique
  ``booking_id``), mock exams ``2-50158939``; ``register_object_type(type_id, name,
  unique_properties)``; ``POST /crm/v3/schemas`` creates more.
- ``reject_when(type_id, predicate, message)``: make matching records permanently invalid.
- Admin actions: ``associate(from_type, from_id, to_type, to_id, type_ids)``,
  ``dissociate(...)``, ``archive(type, id)``, ``define_association_label(from, to, type_id,
  label, inverse_type_id, inverse_label)`` (a paired label: the inverse shows the other way);
  ``POST /crm/v3/objects/contacts/merge`` merges contacts (``hs_merged_object_ids``; a merged-away
  id reads as the survivor); reads honour ``propertiesWithHistory`` (every past value).
- State: ``objects(type)``, ``get(type, id)``, ``get_by(type, prop, value)``,
  ``associations(type, id)``, ``association_type_id(from, to)``, ``requests``, ``stats``,
  ``conformance_failures``, ``errors``; seeding: ``seed(type, rows)``, ``touch(type, id, **props)``.

``serve(port, host='127.0.0.1', **options)`` runs one in the foreground (conformance off).

Conformance (``Conformance(spec_dir).check(...)``) holds requests to HubSpot's published specs,
which are stricter than HubSpot itself: a search body must carry ``filterGroups``, ``sorts``,
``properties``, ``limit`` and ``after`` (``"0"`` for the first page); a batch read
``properties`` and ``propertiesWithHistory``; a create (single or batch) ``associations`` (may be
``[]``); property values must be strings.
"""

from .conformance import Conformance
from .faults import Faults
from .sandbox import Sandbox
from .server import serve
from .store import BOOKINGS, CONTACTS, EXAMS, NOTES

__all__ = ["BOOKINGS", "CONTACTS", "EXAMS", "NOTES", "Conformance", "Faults", "Sandbox", "serve"]
