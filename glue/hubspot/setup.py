"""What mockbook needs in a HubSpot portal, and `mockbook hubspot setup` / the start-up check.

glue.hubspot.catalogue's ``CATALOGUE`` is the one list of the custom objects, properties and
association definitions the push, the pull, the import, the reconcile and the notes use.
``setup`` creates what is missing and gives a property of another type mockbook's type
(idempotently), ``check`` only compares, and every HubSpot command runs ``require`` at start-up
with what it uses: a portal missing a property the command reads or writes refuses to start with
one line naming it instead of dead-lettering every record (exit 2); a difference in what the
command does not use, or can work with, is one warning line. The sandbox's ready portal
(glue/sandbox/schema.py) is built from the same catalogue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from glue import exitcodes
from glue.config import ConfigError, Settings
from glue.hubspot.catalogue import (
    BOOKINGS,
    CATALOGUE,
    COMMANDS,
    EXAMS,
    GROUP,
    PREREQUISITE_LABEL,
    STANDARD_PROPS,
    CustomObject,
    Prop,
)
from glue.hubspot.client import CONTACTS, HubSpotClient, HubSpotError
from glue.hubspot.portal_calls import Portal

# How it works (the detail of the module docstring):
#
# HubSpot behaviour relied on (each call goes through the official SDK, under the glue's client:
# rate limiter, retries, timeouts, error mapping; the calls: glue/hubspot/portal_calls.py):
#
# - Custom object schemas: ``GET/POST /crm-object-schemas/v3/schemas`` (a schema is created with
#   its properties, ``requiredProperties``, ``primaryDisplayProperty`` and ``associatedObjects``;
#   the association with an object listed there is defined with the schema), and
#   ``POST /crm-object-schemas/v3/schemas/{objectType}/associations`` to define an association
#   between two custom objects.
#   https://developers.hubspot.com/docs/api/crm/crm-custom-objects
# - Properties: ``GET /crm/v3/properties/{objectType}`` lists them (custom ones included),
#   ``POST`` creates one (``type`` string | number | date | datetime | enumeration | bool with its
#   ``fieldType``; enumerations carry their ``options``; ``hasUniqueValue`` makes a unique id
#   property, which cannot be changed later); a property needs an existing group
#   (``/crm/v3/properties/{objectType}/groups``).
#   https://developers.hubspot.com/docs/api/crm/properties
# - ``PATCH /crm/v3/properties/{objectType}/{propertyName}`` updates a property; its body takes
#   ``type`` and ``fieldType`` (both, and a valid pair) as well as ``options``, so setup gives a
#   property of another type mockbook's type and field type.
#   https://developers.hubspot.com/docs/api-reference/crm-properties-v3/core/patch-crm-v3-properties-objectType-propertyName
#   HubSpot allows it "for certain field types" only
#   (https://knowledge.hubspot.com/properties/property-field-types-in-hubspot): where it answers
#   400 (the sandbox does for values that cannot become the new type), setup reports the
#   property, HubSpot's message and what to do by hand, on one line.
# - A property whose ``modificationMetadata.readOnlyValue`` is true ("the property's value is
#   read-only and cannot be modified": a calculated property) takes no writes (READ_ONLY_VALUE):
#   a command that writes it cannot work with it (the Property schema of the properties API,
#   the page above).
# - Association labels: ``GET/POST /crm/v4/associations/{from}/{to}/labels`` (associations v4
#   schema API): lists the association types of a pair (the unlabelled default included), creates
#   a labelled type and answers its ``typeId``; a same-object pair (exam -> exam) needs a label.
#   https://developers.hubspot.com/docs/api/crm/associations/v4
#
# Which command cannot work with what (``Finding.users``): a missing property holds back every
# command that reads or writes it; another type holds back the commands that write it, and the
# ones that read it unless mockbook reads it as text (catalogue type string: any HubSpot type
# reads back as a string, so a text property no command writes may have any type and is no
# finding); a missing option, a property that is not unique or is calculated hold back its
# writers. The custom objects, the ids in the environment and the association definitions hold
# back every command. Anything else is one warning line at start-up.

log = logging.getLogger(__name__)


# ---- what differs ----------------------------------------------------------------------------
@dataclass
class Finding:
    """One thing missing or different in the portal; ``fix`` is what setup would do."""

    what: str
    fix: Callable[[], Any] | None = None
    call: str = ""  # the HTTP call of the fix, for --dry-run
    env: tuple[str, str] | None = None  # an id to put in the environment (variable, value)
    users: frozenset[str] | None = None  # the commands that cannot work with it (None: all)
    by_hand: str = ""  # what to do in HubSpot when setup cannot fix it, or HubSpot refused
    refused: str = ""  # HubSpot's answer to the fix setup tried

    def holds_back(self, uses: frozenset[str]) -> bool:
        return self.users is None or bool(self.users & uses)

    def __str__(self) -> str:
        if self.fix is not None or not self.by_hand:
            return self.what
        refused = f"; {self.refused}" if self.refused else ""
        return f"{self.what}{refused}; by hand: {self.by_hand}"


@dataclass
class PortalReport:
    findings: list[Finding] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # environment variable -> value
    calls: list[str] = field(default_factory=list)  # calls made by setup

    @property
    def ok(self) -> bool:
        return not self.findings


def differences(prop: Prop, found: dict[str, Any]) -> list[tuple[str, str]]:
    """How a portal property differs from what mockbook needs, as (kind, text) pairs ([] when
    it fits); kinds: read-only, type, unique, options."""
    out = []
    read_only = (found.get("modificationMetadata") or {}).get("readOnlyValue")
    if read_only and prop.writes:
        out.append(("read-only", "its value is read-only in HubSpot (calculated)"))
    elif found.get("type") != prop.type and (prop.type != "string" or prop.writes):
        # (a property mockbook only reads as text may have any type: every type reads back as a
        # string the database keeps as it comes, a date's YYYY-MM-DD, a number's digits)
        out.append(("type", f"type {found.get('type')!r}, needs {prop.type!r}"))
    elif missing := _missing_options(prop, found):
        # (another type's options do not count: the type change sends them)
        out.append(("options", f"options missing: {', '.join(missing)}"))
    if prop.unique and not found.get("hasUniqueValue"):
        out.append(("unique", "not a unique property (needs hasUniqueValue)"))
    return out


def _missing_options(prop: Prop, found: dict[str, Any]) -> list[str]:
    """The options mockbook needs that the portal's property lacks."""
    have = {o.get("value") for o in found.get("options") or [] if isinstance(o, dict)}
    return [o for o in prop.options if o not in have]


def held_back(prop: Prop, kind: str) -> frozenset[str]:
    """The commands that cannot work with ``prop`` when it is ``kind`` (missing, or one of the
    kinds of :func:`differences`)."""
    if kind == "missing" or (kind == "type" and prop.type != "string"):
        return frozenset(prop.reads + prop.writes)
    return frozenset(prop.writes)


# ---- the comparison ---------------------------------------------------------------------------
def _find_schema(schemas: list[dict[str, Any]], obj: CustomObject, type_id: str) -> dict | None:
    for s in schemas:
        if s.get("objectTypeId") == type_id:
            return s
    return None


def _by_name(schemas: list[dict[str, Any]], obj: CustomObject) -> dict | None:
    for s in schemas:
        if s.get("name") == obj.name or str(s.get("fullyQualifiedName", "")).endswith(
            "_" + obj.name
        ):
            return s
    return None


def inspect(portal: Portal, *, creating: bool = False) -> PortalReport:
    """Compare the portal with :data:`CATALOGUE`. Each finding carries its fix (used by setup).
    With ``creating`` the fixes of one step run before the next step is inspected (a schema
    must exist before its properties and associations can be looked at)."""
    s = portal.settings
    report = PortalReport()

    def found(f: Finding) -> None:
        report.findings.append(f)
        if creating and f.fix is not None:
            report.calls.append(f.call)
            try:
                f.fix()
            except HubSpotError as exc:
                if not f.by_hand or exc.status != 400:
                    raise
                # HubSpot does not allow this change: the finding stays, with what to do by hand
                f.refused, f.fix = f"HubSpot refused the change (400: {exc.message})", None

    schemas = portal.schemas()
    type_ids = {"bookings": s.bookings_object_type, "exams": s.exams_object_type}
    for key, obj in CATALOGUE.items():
        schema = _find_schema(schemas, obj, type_ids[key])
        if schema is None:
            other = _by_name(schemas, obj)
            if other is not None:  # it exists, under another id than the one configured
                type_ids[key] = other["objectTypeId"]
                report.findings.append(
                    Finding(
                        f"{obj.setting}={getattr(s, key + '_object_type')} is not the {obj.name} "
                        f"object of this portal: set {obj.setting}={other['objectTypeId']}",
                        env=(obj.setting, other["objectTypeId"]),
                    )
                )
                schema = other

            def make(obj: CustomObject = obj, key: str = key) -> None:
                created = portal.create_schema(obj)
                type_ids[key] = created.get("objectTypeId") or type_ids[key]

        if schema is None:
            found(
                Finding(
                    f"custom object {obj.name!r} does not exist ({obj.setting}={type_ids[key]})",
                    make,
                    "POST /crm-object-schemas/v3/schemas " + obj.name,
                )
            )
            if not creating:
                continue
            if type_ids[key] != getattr(s, key + "_object_type"):
                report.findings.append(
                    Finding(f"set {obj.setting}={type_ids[key]}", env=(obj.setting, type_ids[key]))
                )
        report.ids[obj.setting] = type_ids[key]
        _inspect_props(portal, type_ids[key], obj.name, obj.props, found)
    for type_id, (name, props) in STANDARD_PROPS.items():
        _inspect_props(portal, type_id, name, props, found)
    if all(obj.setting in report.ids for obj in CATALOGUE.values()):
        _inspect_associations(portal, report.ids, found, report)
    return report


def _inspect_props(
    portal: Portal,
    type_id: str,
    name: str,
    props: tuple[Prop, ...],
    found: Callable[[Finding], None],
) -> None:
    have = portal.properties(type_id)
    group_checked = False
    for prop in props:
        current = have.get(prop.name)
        if current is None:
            if not group_checked:  # a property is created in a group, which must exist
                group_checked = True
                if GROUP not in portal.groups(type_id):
                    found(
                        Finding(
                            f"{name}: property group {GROUP!r} does not exist",
                            lambda t=type_id: portal.create_group(t),
                            f"POST /crm/v3/properties/{type_id}/groups {GROUP}",
                            users=frozenset(),  # needed to create a property, not to use one
                        )
                    )
            found(
                Finding(
                    f"{name}: property {prop.name!r} ({prop.type}) is missing",
                    lambda t=type_id, p=prop: portal.create_property(t, p),
                    f"POST /crm/v3/properties/{type_id} {prop.name}",
                    users=held_back(prop, "missing"),
                )
            )
            continue
        diffs = differences(prop, current)
        only_options = all(kind == "options" for kind, _ in diffs)
        where = f"HubSpot: Settings > Properties > {name} > {prop.name}"
        call = f"PATCH /crm/v3/properties/{type_id}/{prop.name}"
        for kind, text in diffs:
            finding = Finding(f"{name}: property {prop.name!r}: {text}", call=call)
            finding.users = held_back(prop, kind)
            if kind == "options" and only_options:
                finding.fix = lambda t=type_id, p=prop: portal.update_property(t, p)
            elif kind == "type":
                finding.fix = lambda t=type_id, p=prop: portal.change_type(t, p)
                finding.call = f"{call} type={prop.type} fieldType={prop.field_type}"
                finding.by_hand = (
                    f"clear or correct its values that are not valid {prop.type} values "
                    f"({where}), then run `mockbook hubspot setup` again; or give it type "
                    f"{prop.type}, field type {prop.field_type} there"
                )
            elif kind == "unique":  # HubSpot does not make an existing property unique
                finding.by_hand = (
                    f"{' and '.join(prop.writes)} upserts by it: delete it ({where}), then run "
                    "`mockbook hubspot setup`, which creates it unique"
                )
            elif kind == "read-only":
                finding.by_hand = (
                    f"{' and '.join(prop.writes)} writes it: delete it ({where}), then run "
                    f"`mockbook hubspot setup`, which creates it (type {prop.type})"
                )
            found(finding)


def _inspect_associations(
    portal: Portal, ids: dict[str, str], found: Callable[[Finding], None], report: PortalReport
) -> None:
    s = portal.settings
    bookings, exams = ids[BOOKINGS.setting], ids[EXAMS.setting]
    pairs = (
        (
            bookings,
            CONTACTS,
            "booking_to_contact",
            s.booking_contact_association_type,
            "HUBSPOT_BOOKING_CONTACT_ASSOCIATION_TYPE",
        ),
        (
            bookings,
            exams,
            "booking_to_mock_exam",
            s.booking_exam_association_type,
            "HUBSPOT_BOOKING_EXAM_ASSOCIATION_TYPE",
        ),
    )
    for from_type, to_type, name, configured, setting in pairs:
        types = portal.labels(from_type, to_type)
        if not types:
            found(
                Finding(
                    f"association {from_type}->{to_type} ({name}) is not defined",
                    lambda f=from_type, t=to_type, n=name: portal.create_association(f, t, n),
                    f"POST /crm-object-schemas/v3/schemas/{from_type}/associations {name}",
                )
            )
        elif configured and configured not in {int(x.get("typeId") or 0) for x in types}:
            found(
                Finding(
                    f"{setting}={configured} is not an association type of "
                    f"{from_type}->{to_type} (defined: "
                    f"{', '.join(str(x.get('typeId')) for x in types)})"
                )
            )
    wanted = s.prerequisite_association_type_id
    types = portal.labels(exams, exams)
    labelled = [x for x in types if x.get("label") == PREREQUISITE_LABEL]
    if not any(int(x.get("typeId") or 0) == wanted for x in types):
        if labelled:
            got = str(labelled[0]["typeId"])
            report.ids["HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID"] = got
            found(
                Finding(
                    f"HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID={wanted} is not an "
                    f"association type of {exams}->{exams}: set "
                    f"HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID={got}",
                    env=("HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID", got),
                )
            )
        else:

            def make() -> None:
                created = portal.create_label(exams, exams)
                for x in created.get("results") or []:
                    if x.get("label") == PREREQUISITE_LABEL:
                        got = str(x["typeId"])
                        report.ids["HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID"] = got
                        if int(got) != wanted:
                            report.findings.append(
                                Finding(
                                    f"set HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID={got}",
                                    env=("HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID", got),
                                )
                            )

            found(
                Finding(
                    f"association label {PREREQUISITE_LABEL!r} (exam -> exam, "
                    f"HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID={wanted}) is not defined",
                    make,
                    f"POST /crm/v4/associations/{exams}/{exams}/labels {PREREQUISITE_LABEL}",
                )
            )
    else:
        report.ids["HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID"] = str(wanted)


def config_message(exc: HubSpotError, client: HubSpotClient, settings: Settings) -> str:
    """One line for a portal check HubSpot did not answer properly."""
    base = client.base_url
    if exc.status is None:
        return f"cannot reach HubSpot at HUBSPOT_BASE_URL {base}: {exc.message}"
    if exc.status == 401:
        return "HubSpot refused HUBSPOT_ACCESS_TOKEN (401 unauthorized)"
    if exc.status == 403:
        return (
            f"HUBSPOT_ACCESS_TOKEN lacks a scope mockbook needs (403): {exc.message} (see the "
            "docs/hubspot.md, 'Setting up a portal', for the private app's scopes)"
        )
    if exc.status in (400, 404):
        return (
            f"HubSpot at {base} has no object type {settings.bookings_object_type!r} "
            f"(HUBSPOT_BOOKINGS_OBJECT_TYPE) or {settings.exams_object_type!r} "
            f"(HUBSPOT_EXAMS_OBJECT_TYPE): {exc.message}"
        )
    return f"HubSpot at {base} is not answering properly (HTTP {exc.status}): {exc.message}"


# ---- the entry points ---------------------------------------------------------------------------
def check(client: HubSpotClient, settings: Settings) -> PortalReport:
    """What is missing or different (nothing is changed)."""
    portal = Portal(client, settings)
    portal.read_ahead()
    return inspect(portal)


def setup(client: HubSpotClient, settings: Settings) -> PortalReport:
    """Create what is missing; what cannot be fixed by creating (a wrong type, an id to put in
    the environment) stays in the findings. Running it again on a ready portal makes no write."""
    report = inspect(Portal(client, settings), creating=True)
    report.findings = [f for f in report.findings if f.fix is None]
    return report


class HubSpotUnavailable(ConfigError):
    """The start-up check got no proper answer (no connection, a timeout, a 5xx, a 429 after
    the client's own retries): worth trying again, unlike a refusal. A one-shot command reports
    it in one line as any ConfigError; the worker waits and checks again (glue.run.cycle)."""

    exit_code = exitcodes.TEMPFAIL  # a one-shot command: try again later (EX_TEMPFAIL)


def _not_set_up(who: str, held: list[Finding]) -> str:
    """The one line of a portal the commands ``who`` cannot work with: the first finding that
    holds them back, how many more, and what to run."""
    first = held[0]
    more = f" (and {len(held) - 1} more)" if len(held) > 1 else ""
    if first.fix is None and first.by_hand:
        then = "`mockbook hubspot setup --check` lists everything"
    else:
        then = (
            "run `mockbook hubspot setup` (or `mockbook hubspot setup --check` to list "
            "everything)"
        )
    return f"the HubSpot portal is not set up for {who}: {first}{more}; {then}"


def require(client: HubSpotClient, settings: Settings, uses: Iterable[str]) -> None:
    """The start-up check of every HubSpot command, given the commands it runs (``uses``:
    catalogue COMMANDS): ConfigError (one line, exit 2) naming what it cannot work with, before
    anything is claimed or sent; HubSpotUnavailable when HubSpot did not answer properly. What
    differs only where the command does not look, or in a way it can work with, is logged as
    one warning line and the command starts."""
    used = frozenset(uses)
    try:
        report = check(client, settings)
    except HubSpotError as exc:
        error = HubSpotUnavailable if exc.transient else ConfigError
        raise error(config_message(exc, client, settings)) from None
    # name what the glue would fail on (a property, an object, an id), not a property group
    held = [f for f in report.findings if f.holds_back(used)]
    other = [f for f in report.findings if not f.holds_back(used) and f.users != frozenset()]
    who = ", ".join(c for c in COMMANDS if c in used)
    if held:
        raise ConfigError(_not_set_up(who, held))
    if other:
        more = f" (and {len(other) - 1} more)" if len(other) > 1 else ""
        log.warning(
            "the HubSpot portal differs from what mockbook needs, in what %s does not use: "
            "%s%s; %s starts (`mockbook hubspot setup --check` lists everything)",
            who,
            other[0],
            more,
            who,
        )
