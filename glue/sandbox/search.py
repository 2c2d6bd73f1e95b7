"""The CRM search endpoint's rules: HubSpot's limits, filter operators, sorting and paging."""

from __future__ import annotations

import functools
import heapq
import operator
import re
from typing import Any

from .store import parse_time_ms

MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_BODY_CHARS = 3_000
DEFAULT_LIMIT = 10

OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class SearchError(ValueError):
    """A search request HubSpot would refuse with 400 VALIDATION_ERROR."""


def _key(value: Any) -> tuple[int, Any]:
    """Comparable form of a value: numbers and dates (ISO or epoch ms) as numbers, text folded."""
    return _text_key("" if value is None else str(value))


@functools.lru_cache(maxsize=1 << 18)
def _text_key(text: str) -> tuple[int, Any]:
    # cached: a portal's searches compare the same stored values again and again
    if _NUMBER.match(text.strip()):
        return (0, float(text))
    ms = parse_time_ms(text)
    if ms is not None:
        return (0, float(ms))
    return (1, text.lower())


def validate(body: Any, raw_chars: int) -> tuple[list[dict], int, int]:
    """Check HubSpot's limits; returns (filter groups, limit, offset)."""
    if raw_chars > MAX_BODY_CHARS:
        raise SearchError(
            f"Search request body is {raw_chars} characters; the maximum is {MAX_BODY_CHARS}."
        )
    if not isinstance(body, dict):
        raise SearchError("Search request body must be a JSON object.")
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list):
        raise SearchError("filterGroups must be a list.")
    if len(groups) > MAX_FILTER_GROUPS:
        raise SearchError(
            f"Too many filter groups: {len(groups)}; the maximum is {MAX_FILTER_GROUPS}."
        )
    _validate_filters(groups)
    limit, offset = _paging(body)
    return groups, limit, offset


def _validate_filters(groups: list[Any]) -> None:
    """Each group a list of valid filters, within HubSpot's counts."""
    total = 0
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise SearchError("Each filter group needs a list of filters.")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"Too many filters in a group: {len(filters)}; "
                f"the maximum is {MAX_FILTERS_PER_GROUP}."
            )
        total += len(filters)
        for flt in filters:
            op = flt.get("operator") if isinstance(flt, dict) else None
            if op not in OPERATORS or not flt.get("propertyName"):
                raise SearchError(f"Invalid filter: {flt!r}")
    if total > MAX_FILTERS:
        raise SearchError(f"Too many filters: {total}; the maximum is {MAX_FILTERS}.")


def _paging(body: dict[str, Any]) -> tuple[int, int]:
    """(limit, offset) of a search body, within HubSpot's bounds."""
    limit = body.get("limit", DEFAULT_LIMIT)
    if limit is None:
        limit = DEFAULT_LIMIT
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0 or limit > MAX_LIMIT:
        raise SearchError(f"limit must be an integer between 0 and {MAX_LIMIT}; got {limit!r}")
    after = body.get("after") or "0"
    try:
        offset = int(str(after))
    except ValueError:
        raise SearchError(f"Invalid paging cursor: {after!r}") from None
    if offset < 0:
        raise SearchError(f"Invalid paging cursor: {after!r}")
    if offset >= MAX_RESULTS:
        raise SearchError(
            f"Paging past {MAX_RESULTS} results is not supported "
            f"(after={offset}); narrow the filters instead."
        )
    return limit, offset


def _match(props: dict[str, str], flt: dict) -> bool:
    op = flt["operator"]
    name = flt["propertyName"]
    raw = props.get(name)
    has = raw is not None and raw != ""
    if op == "HAS_PROPERTY":
        return has
    if op == "NOT_HAS_PROPERTY":
        return not has
    values = [_key(v) for v in flt.get("values") or []]
    if op == "NOT_IN":
        return not has or _key(raw) not in values
    if op == "NEQ":
        return not has or _key(raw) != _key(flt.get("value"))
    if op == "NOT_CONTAINS_TOKEN":
        return not has or str(flt.get("value", "")).lower() not in raw.lower().split()
    if not has:
        return False
    value = _key(raw)
    if op == "IN":
        return value in values
    if op == "CONTAINS_TOKEN":
        token = str(flt.get("value", "")).lower().strip("*")
        return any(token in word for word in raw.lower().split())
    target = _key(flt.get("value"))
    if op == "BETWEEN":
        return target <= value <= _key(flt.get("highValue"))
    if value[0] != target[0]:
        return False
    return _COMPARE[op](value, target)


_COMPARE = {
    "EQ": operator.eq,
    "LT": operator.lt,
    "LTE": operator.le,
    "GT": operator.gt,
    "GTE": operator.ge,
}


def _compiled(flt: dict) -> Any:
    """``_match`` for one filter as a function of the properties: the comparisons' target
    computed once, not per record (an import pages through tens of thousands of records)."""
    op, name = flt["operator"], flt["propertyName"]
    if op not in _COMPARE:
        return lambda props: _match(props, flt)
    target, compare = _key(flt.get("value")), _COMPARE[op]

    def match(props: dict[str, str]) -> bool:
        raw = props.get(name)
        if raw is None or raw == "":
            return False
        value = _text_key(raw if isinstance(raw, str) else str(raw))
        return value[0] == target[0] and compare(value, target)

    return match


def _selected(
    view: list[tuple[str, dict[str, str]]], flt: dict, match: Any
) -> list[tuple[str, dict[str, str]]]:
    """The entries one filter keeps (``match``: ``_compiled(flt)``); a comparison (the pull's
    and the import's query) in one comprehension, without a call per record."""
    op, name = flt["operator"], flt["propertyName"]
    if op not in _COMPARE:
        return [h for h in view if match(h[1])]
    target, compare, key = _key(flt.get("value")), _COMPARE[op], _text_key
    kind = target[0]
    return [h for h in view
            if (raw := h[1].get(name)) is not None and raw != ""
            and (value := key(raw if isinstance(raw, str) else str(raw)))[0] == kind
            and compare(value, target)]


def _matches(props: dict[str, str], groups: list[dict], query: str | None) -> bool:
    if query:
        q = query.lower()
        if not any(q in str(v).lower() for v in props.values()):
            return False
    if not groups:
        return True
    return any(all(_match(props, f) for f in g["filters"]) for g in groups)


def _sorts(body: dict) -> list[tuple[str, bool]]:
    out = []
    for item in body.get("sorts") or []:
        if isinstance(item, str):
            desc = item.startswith("-")
            out.append((item.lstrip("-"), desc))
        elif isinstance(item, dict) and item.get("propertyName"):
            out.append(
                (item["propertyName"], str(item.get("direction", "")).upper().startswith("DESC"))
            )
    return out


def run(
    view: list[tuple[str, dict[str, str]]], body: dict, raw_chars: int
) -> tuple[int, list[tuple[str, dict[str, str]]], str | None]:
    """Filter, sort and page a search view; returns (total, page, next ``after`` or None)."""
    groups, limit, offset = validate(body, raw_chars)
    query = body.get("query")
    if query:
        hits = [(rid, props) for rid, props in view if _matches(props, groups, query)]
    elif groups:
        compiled = [[_compiled(f) for f in g["filters"]] for g in groups]
        if len(compiled) == 1 and len(compiled[0]) == 1:  # the pull's and import's query
            hits = _selected(view, groups[0]["filters"][0], compiled[0][0])
        else:
            hits = [(rid, props) for rid, props in view
                    if any(all(f(props) for f in g) for g in compiled)]
    else:
        hits = list(view)
    total = len(hits)
    nxt = offset + limit
    return total, _first(hits, _sorts(body), nxt)[offset:], (
        str(nxt) if nxt < total and limit > 0 else None)


def _first(
    hits: list[tuple[str, dict[str, str]]], sorts: list[tuple[str, bool]], n: int
) -> list[tuple[str, dict[str, str]]]:
    """The first ``n`` hits in the search's order: by each sort property in turn (the records
    without it after those with it), then by id. With one sort property (the pull's and the
    import's) only the first ``n`` are put in order: a page of a portal of tens of thousands of
    records is answered without sorting them all."""
    if len(sorts) > 1:
        ordered = sorted(hits, key=lambda h: int(h[0]))
        for prop, desc in reversed(sorts):
            present = [h for h in ordered if h[1].get(prop) not in (None, "")]
            missing = [h for h in ordered if h[1].get(prop) in (None, "")]
            present.sort(key=lambda h, p=prop: _key(h[1][p]), reverse=desc)
            ordered = present + missing
        return ordered[:n]
    if not sorts:
        return heapq.nsmallest(n, hits, key=lambda h: int(h[0]))
    prop, desc = sorts[0]
    # (no list of keys: the hits are the store's own entries, and what a search keeps alive
    # while it runs is what the collector sweeps)
    present = [h for h in hits if h[1].get(prop) not in (None, "")]
    if desc:  # ids are unique: never a tie, so the order is the full sort's
        out = heapq.nlargest(n, present, key=lambda h: (_key(h[1][prop]), -int(h[0])))
    else:
        out = heapq.nsmallest(n, present, key=lambda h: (_key(h[1][prop]), int(h[0])))
    if len(out) < n:
        missing = [h for h in hits if h[1].get(prop) in (None, "")]
        out += heapq.nsmallest(n - len(out), missing, key=lambda h: int(h[0]))
    return out
