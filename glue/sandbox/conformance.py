"""Validate HubSpot request/response pairs against HubSpot's official OpenAPI specs.

The specs ship with the package (``glue/sandbox/openapi/``, copied unchanged from HubSpot's public
spec collection: its README names the commit), or come from ``$HUBSPOT_OPENAPI_DIR``. Each is
parsed once per process: they are large.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

# How it works (the detail of the module docstring):
#
# The spec is chosen by path: objects v3 paths are checked against ``crm-objects-v3.json`` and also
# against ``crm-contacts-v3.json`` (contacts) or ``crm-custom-objects-v3.json`` (custom objects,
# ``2-…`` / ``p…_…``); ``/crm/v4/`` against ``crm-associations-v4.json``; schemas against
# ``crm-schemas-v3.json`` (whose paths are ``/crm-object-schemas/v3/schemas``; ``/crm/v3/schemas``
# is mapped onto them). Security requirements are dropped from the specs (they are OAuth scopes,
# which openapi-core cannot check; the sandbox checks the bearer token itself).
#
# A check is a function of what it reads: the spec, the request (method, path, query, headers,
# content type, body) and, for the answer, the operation (method and path), the status, the
# content type, the body and the response headers the spec declares. Its problems are kept under
# exactly that (MEMO entries per process, the oldest dropped first), so an exchange seen before —
# a poll, the same read answered the same, a request sent again — is not validated again
# (about 6 ms an exchange checked against two specs; in the wire and HubSpot-term tests half the
# requests and a third of the answers had been seen before).

HOST = "https://api.hubapi.com"
ENV_VAR = "HUBSPOT_OPENAPI_DIR"

OBJECTS = "crm-objects-v3.json"
CONTACTS = "crm-contacts-v3.json"
CUSTOM = "crm-custom-objects-v3.json"
ASSOCIATIONS = "crm-associations-v4.json"
SCHEMAS = "crm-schemas-v3.json"
PROPERTIES = "crm-properties-v3.json"

_CACHE: dict[Path, tuple[Any, dict]] = {}
_CACHE_LOCK = threading.Lock()
MEMO = 20_000  # checks whose problems are kept (a few hundred bytes each)
_MEMO: OrderedDict[tuple, list[str]] = OrderedDict()
_MEMO_LOCK = threading.Lock()
_DECLARED: dict[Path, frozenset[str]] = {}
# Association labels (``/crm/v4/associations/{from}/{to}/labels``) belong to HubSpot's separate
# "Associations Schema" spec, which glue/sandbox/openapi does not hold: not checked.
_UNCOVERED = re.compile(r"^/crm/v4/associations/[^/]+/[^/]+/labels(/[^/]+)?$")
_OBJECT_PATH = re.compile(r"^/crm/v3/objects/(?P<t>[^/]+)(?P<rest>/.*)?$")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def default_spec_dir() -> Path:
    """``$HUBSPOT_OPENAPI_DIR``, else the copy shipped with the package."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "openapi"


def load_spec(path: Path) -> tuple[Any, dict]:
    """(openapi-core ``OpenAPI`` object, spec as a dict) for one spec file, cached per process."""
    path = path.resolve()
    with _CACHE_LOCK:
        if path not in _CACHE:
            from openapi_core import Config, OpenAPI

            spec = json.loads(path.read_text(encoding="utf-8"))
            spec.pop("security", None)
            for item in spec.get("paths", {}).values():
                for method in _METHODS:
                    if isinstance(item.get(method), dict):
                        item[method].pop("security", None)
            # Error responses are declared as */*; read them as JSON.
            config = Config(extra_media_type_deserializers={"*/*": json.loads})
            _CACHE[path] = (OpenAPI.from_dict(spec, base_uri=path.as_uri(), config=config), spec)
        return _CACHE[path]


def specs_for(path: str) -> list[tuple[str, str]]:
    """(spec file, path as written in that spec) pairs that cover one request path."""
    if path.startswith("/crm/v3/schemas"):
        return [(SCHEMAS, "/crm-object-schemas/v3/schemas" + path[len("/crm/v3/schemas") :])]
    if path.startswith("/crm-object-schemas/v3/schemas"):
        return [(SCHEMAS, path)]
    if path.startswith("/crm/v4/"):
        return [(ASSOCIATIONS, path)]
    if path.startswith("/crm/v3/properties/"):
        return [(PROPERTIES, path)]
    if path.rstrip("/") == "/crm/v3/objects/contacts/merge":  # contacts only: not in objects v3
        return [(CONTACTS, path)]
    match = _OBJECT_PATH.match(path)
    if not match:
        return []
    object_type = match.group("t")
    out = [(OBJECTS, path)]
    if object_type == "contacts":
        out.append((CONTACTS, path))
    elif object_type.startswith("2-") or re.match(r"^p\d+_", object_type):
        out.append((CUSTOM, path))
    return out


def _as_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def _describe(exc: Exception) -> str:
    cause = exc.__cause__
    details = getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None)
    if details:
        parts = []
        for err in details:
            where = "/".join(str(p) for p in err.absolute_path) or "<root>"
            parts.append(f"{err.message[:200]} (at {where})")
        return f"{type(exc).__name__}: " + "; ".join(parts)
    text = f"{type(exc).__name__}: {exc}"
    if cause is not None:
        text += f" ({type(cause).__name__}: {str(cause)[:300]})"
    return text


def _empty_content(spec: dict, method: str, spec_path: str, status: int) -> bool:
    """True when the spec declares this response with no content (e.g. a 204)."""
    for template, item in spec.get("paths", {}).items():
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, spec_path) and method.lower() in item:
            responses = item[method.lower()].get("responses", {})
            response = responses.get(str(status), responses.get("default", {}))
            if "$ref" in response:
                return False
            return not response.get("content")
    return False


def _declared_headers(path: Path, spec: dict) -> frozenset[str]:
    """The response headers the spec at ``path`` declares anywhere (lower case): the only ones
    a response check reads."""
    if path not in _DECLARED:
        names = set()
        responses = [r for item in spec.get("paths", {}).values() if isinstance(item, dict)
                     for op in item.values() if isinstance(op, dict)
                     for r in op.get("responses", {}).values()]
        responses += list(spec.get("components", {}).get("responses", {}).values())
        for response in responses:
            if isinstance(response, dict):
                names.update(name.lower() for name in response.get("headers") or {})
        _DECLARED[path] = frozenset(names)
    return _DECLARED[path]


def _remembered(key: tuple, work: Callable[[], list[str]]) -> list[str]:
    """``work()``'s problems, kept under ``key`` (what the check reads) for the next time."""
    with _MEMO_LOCK:
        found = _MEMO.get(key)
        if found is not None:
            _MEMO.move_to_end(key)
            return found
    found = work()
    with _MEMO_LOCK:
        _MEMO[key] = found
        while len(_MEMO) > MEMO:
            _MEMO.popitem(last=False)
    return found


class Conformance:
    """Checks exchanges against the specs in ``spec_dir`` (see :func:`default_spec_dir`)."""

    def __init__(self, spec_dir: str | os.PathLike[str] | None = None) -> None:
        self.spec_dir = Path(spec_dir) if spec_dir else default_spec_dir()
        if not self.spec_dir.is_dir():
            raise FileNotFoundError(
                f"HubSpot OpenAPI specs not found in {self.spec_dir}; set ${ENV_VAR}"
            )

    def preload(self) -> None:
        """Parse every spec now (once per process) rather than on first use."""
        for name in (OBJECTS, CONTACTS, CUSTOM, ASSOCIATIONS, SCHEMAS, PROPERTIES):
            load_spec(self.spec_dir / name)

    def check(
        self,
        method: str,
        url: str,
        query: Any = None,
        headers: Any = None,
        body: Any = None,
        status: int | None = None,
        response_headers: Any = None,
        response_body: Any = None,
    ) -> list[str]:
        """Problems found with one request and (when ``status`` is given) its response.

        ``url`` may be a full URL or a path; ``query`` a dict (values may be lists) or a list
        of pairs, parsed from ``url`` when None; bodies may be bytes, str or JSON values.
        """
        parts = urlsplit(url)
        path = parts.path or "/"
        pairs = _pairs(query if query is not None else parts.query)
        headers = dict(headers or {})
        if _UNCOVERED.match(path):
            return []
        targets = specs_for(path)
        if not targets:
            return [f"{method} {path}: no HubSpot OpenAPI spec covers this path"]
        exchange = _Exchange(method, path, pairs, headers, _as_bytes(body), status,
                             dict(response_headers or {}), _as_bytes(response_body))
        problems = []
        for spec_name, spec_path in targets:
            label = f"{spec_name}: {method.upper()} {path}"
            try:
                problems += self._against(spec_name, spec_path, label, exchange)
            except Exception as exc:  # report, never raise: this runs inside server threads
                problems.append(f"{label}: checker failed: {type(exc).__name__}: {exc}")
        return problems

    def _against(self, spec_name: str, spec_path: str, label: str, x: _Exchange) -> list[str]:
        """One spec's problems with the exchange: each half validated once per process for
        what it reads (_remembered)."""
        from openapi_core.testing import MockRequest, MockResponse
        from openapi_core.validation.response.exceptions import MissingData

        spec_file = self.spec_dir / spec_name
        api, raw_spec = load_spec(spec_file)
        content_type = _media_type(_header(x.headers, "Content-Type") or "application/json")
        where = (self.spec_dir, spec_name, x.method.lower(), x.path, spec_path)

        def request() -> Any:
            return MockRequest(HOST, x.method.lower(), spec_path, args=x.pairs, headers=x.headers,
                               data=x.body, content_type=content_type)

        def request_problems() -> list[str]:
            return [f"{label} request: {_describe(err)}"
                    for err in api.iter_request_errors(request())]

        problems = list(_remembered(
            ("request", *where, tuple(x.pairs), tuple(sorted(x.headers.items())), content_type,
             x.body),
            request_problems))
        if x.status is None:
            return problems
        rtype = _header(x.response_headers, "Content-Type") or (
            "application/json" if x.response_body else "")
        declared = _declared_headers(spec_file, raw_spec)

        def response_problems() -> list[str]:
            response = MockResponse(x.response_body, status_code=x.status,
                                    headers=x.response_headers,
                                    content_type=_media_type(rtype) or None)
            return [f"{label} -> {x.status} response: {_describe(err)}"
                    for err in api.iter_response_errors(request(), response)
                    if not (isinstance(err, MissingData)
                            and _empty_content(raw_spec, x.method, spec_path, x.status))]

        read = tuple(sorted((str(k).lower(), str(v)) for k, v in x.response_headers.items()
                            if str(k).lower() in declared))
        return problems + _remembered(
            ("response", *where, x.status, rtype, x.response_body, read), response_problems)


class _Exchange(NamedTuple):
    """One request and its answer, as the checks read them."""

    method: str
    path: str
    pairs: list[tuple[str, str]]
    headers: dict
    body: bytes
    status: int | None
    response_headers: dict
    response_body: bytes


def _media_type(content_type: str) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return content_type.split(";")[0].strip()


def _header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _pairs(query: Any) -> list[tuple[str, str]]:
    if not query:
        return []
    if isinstance(query, str):
        return parse_qsl(query, keep_blank_values=True)
    if isinstance(query, dict):
        out = []
        for key, value in query.items():
            values = value if isinstance(value, list | tuple) else [value]
            out.extend((key, str(v)) for v in values)
        return out
    return [(str(k), str(v)) for k, v in query]
