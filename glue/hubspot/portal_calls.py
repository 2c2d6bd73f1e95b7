"""The schema, properties and labels calls `mockbook hubspot setup` and the start-up check make,
on top of the glue's HubSpot client (its rate limiter, retries, timeouts and error mapping).
What each call does in HubSpot, with the sources: glue/hubspot/setup.py."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from glue.config import Settings
from glue.hubspot import wire
from glue.hubspot.catalogue import (
    GROUP,
    PREREQUISITE_INVERSE,
    PREREQUISITE_LABEL,
    STANDARD_PROPS,
    CustomObject,
    Prop,
)
from glue.hubspot.client import CONTACTS, HubSpotClient


class Portal:
    """The schema, properties and labels calls on top of the glue's HubSpot client."""

    def __init__(self, client: HubSpotClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._schemas = client.schemas_api
        self._properties = client.properties_api
        self._groups = client.property_groups_api
        self._labels = client.labels_api
        self._ahead: dict[tuple[str, ...], Future] = {}

    def read_ahead(self) -> None:
        """Send the reads a check makes (the schemas, the properties of the object types, the
        association labels of the three pairs, as the settings name them) at once, in threads,
        instead of one after the other: the start-up check of every command costs one round
        trip or two instead of eight. A read is taken once; one not asked for is dropped."""
        s = self.settings
        reads: list[tuple[str, ...]] = [("schemas",)]
        reads += [("properties", t) for t in (*STANDARD_PROPS, s.bookings_object_type,
                                               s.exams_object_type)]
        reads += [("labels", s.bookings_object_type, CONTACTS),
                  ("labels", s.bookings_object_type, s.exams_object_type),
                  ("labels", s.exams_object_type, s.exams_object_type)]
        with ThreadPoolExecutor(max_workers=len(reads),
                                thread_name_prefix="mockbook-portal") as pool:
            for key in reads:
                self._ahead[key] = pool.submit(self._read, *key)
        # (the pool is shut down here: every read is answered before the check goes on)

    def _read(self, kind: str, *args: str) -> Any:
        return {"schemas": self._schemas_now, "properties": self._properties_now,
                "labels": self._labels_now}[kind](*args)

    def _taken(self, key: tuple[str, ...]) -> Future | None:
        return self._ahead.pop(key, None)

    # ---- reads ----------------------------------------------------------------------------
    def _get(
        self, operation: str, fn: Callable[..., Any], *args: Any, shape: wire.Shape = wire.ANSWER
    ) -> dict[str, Any]:
        data, _ = self.client.call(operation, fn, *args, shape=shape)
        return data if isinstance(data, dict) else {}

    def schemas(self) -> list[dict[str, Any]]:
        if (ahead := self._taken(("schemas",))) is not None:
            return ahead.result()
        return self._schemas_now()

    def _schemas_now(self) -> list[dict[str, Any]]:
        return list(
            self._get("list schemas", self._schemas.get_all_with_http_info,
                      shape=wire.SCHEMAS).get("results") or []
        )

    def properties(self, object_type: str) -> dict[str, dict[str, Any]]:
        if (ahead := self._taken(("properties", object_type))) is not None:
            return ahead.result()
        return self._properties_now(object_type)

    def _properties_now(self, object_type: str) -> dict[str, dict[str, Any]]:
        data = self._get(
            f"properties {object_type}", self._properties.get_all_with_http_info, object_type,
            shape=wire.PROPERTIES,
        )
        return {p["name"]: p for p in data.get("results") or [] if isinstance(p, dict)}

    def groups(self, object_type: str) -> set[str]:
        data = self._get(f"groups {object_type}", self._groups.get_all_with_http_info, object_type,
                         shape=wire.GROUPS)
        return {g.get("name") for g in data.get("results") or [] if isinstance(g, dict)}

    def labels(self, from_type: str, to_type: str) -> list[dict[str, Any]]:
        if (ahead := self._taken(("labels", from_type, to_type))) is not None:
            return ahead.result()
        return self._labels_now(from_type, to_type)

    def _labels_now(self, from_type: str, to_type: str) -> list[dict[str, Any]]:
        data = self._get(
            f"labels {from_type}->{to_type}",
            self._labels.get_all_with_http_info,
            from_type,
            to_type,
            shape=wire.LABELS,
        )
        return [x for x in data.get("results") or [] if isinstance(x, dict)]

    # ---- writes ---------------------------------------------------------------------------
    def create_schema(self, obj: CustomObject) -> dict[str, Any]:
        return self._get(
            f"create schema {obj.name}", self._schemas.create_with_http_info, obj.schema_body(),
            shape=wire.SCHEMA,
        )

    def create_association(self, from_type: str, to_type: str, name: str) -> dict[str, Any]:
        body = {"fromObjectTypeId": from_type, "toObjectTypeId": to_type, "name": name}
        return self._get(
            f"define association {from_type}->{to_type}",
            self._schemas.create_association_with_http_info,
            from_type,
            body,
        )

    def create_group(self, object_type: str) -> dict[str, Any]:
        body = {"name": GROUP, "label": "mockbook", "displayOrder": -1}
        return self._get(
            f"create group {object_type}", self._groups.create_with_http_info, object_type, body
        )

    def create_property(self, object_type: str, prop: Prop) -> dict[str, Any]:
        return self._get(
            f"create property {object_type}.{prop.name}",
            self._properties.create_with_http_info,
            object_type,
            prop.definition(),
            shape=wire.PROPERTY,
        )

    def change_type(self, object_type: str, prop: Prop) -> dict[str, Any]:
        """Give a property mockbook's type and field type (and its options, for an
        enumeration); HubSpot answers 400 where it does not allow the change."""
        body = {k: v for k, v in prop.definition().items() if k in ("type", "fieldType", "options")}
        return self._get(
            f"change type {object_type}.{prop.name}",
            self._properties.update_with_http_info,
            object_type,
            prop.name,
            body,
            shape=wire.PROPERTY,
        )

    def update_property(self, object_type: str, prop: Prop) -> dict[str, Any]:
        """Add missing enumeration options (HubSpot replaces the option list: send all)."""
        body = {k: v for k, v in prop.definition().items() if k in ("label", "options")}
        return self._get(
            f"update property {object_type}.{prop.name}",
            self._properties.update_with_http_info,
            object_type,
            prop.name,
            body,
            shape=wire.PROPERTY,
        )

    def create_label(self, from_type: str, to_type: str) -> dict[str, Any]:
        body = {
            "label": PREREQUISITE_LABEL,
            "name": "prerequisite",
            "inverseLabel": PREREQUISITE_INVERSE,
        }
        return self._get(
            f"create label {from_type}->{to_type}",
            self._labels.create_with_http_info,
            from_type,
            to_type,
            body,
            shape=wire.LABELS,
        )
