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
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# How it works (the detail of the module docstring):
#
# The spec is chosen by path: objects v3 paths are checked against ``crm-objects-v3.json`` and also
# against ``crm-contacts-v3.json`` (contacts) or ``crm-custom-objects-v3.json`` (custom objects,
# ``2-…`` / ``p…_…``); ``/crm/v4/`` against ``crm-associations-v4.json``; schemas against
# ``crm-schemas-v3.json`` (whose paths are ``/crm-object-schemas/v3/schemas``; ``/crm/v3/schemas``
# is mapped onto them). Security requirements are dropped from the specs (they are OAuth scopes,
# which openapi-core cannot check; the sandbox checks the bearer token itself).

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
        from openapi_core.testing import MockRequest, MockResponse
        from openapi_core.validation.response.exceptions import MissingData

        parts = urlsplit(url)
        path = parts.path or "/"
        pairs = _pairs(query if query is not None else parts.query)
        headers = dict(headers or {})
        ctype = _header(headers, "Content-Type") or "application/json"
        if _UNCOVERED.match(path):
            return []
        targets = specs_for(path)
        if not targets:
            return [f"{method} {path}: no HubSpot OpenAPI spec covers this path"]
        problems = []
        for spec_name, spec_path in targets:
            label = f"{spec_name}: {method.upper()} {path}"
            try:
                api, raw_spec = load_spec(self.spec_dir / spec_name)
                request = MockRequest(
                    HOST,
                    method.lower(),
                    spec_path,
                    args=pairs,
                    headers=headers,
                    data=_as_bytes(body),
                    content_type=ctype.split(";")[0].strip(),
                )
                for err in api.iter_request_errors(request):
                    problems.append(f"{label} request: {_describe(err)}")
                if status is None:
                    continue
                data = _as_bytes(response_body)
                rtype = _header(dict(response_headers or {}), "Content-Type") or (
                    "application/json" if data else ""
                )
                response = MockResponse(
                    data,
                    status_code=status,
                    headers=dict(response_headers or {}),
                    content_type=rtype.split(";")[0].strip() or None,
                )
                for err in api.iter_response_errors(request, response):
                    if isinstance(err, MissingData) and _empty_content(
                        raw_spec, method, spec_path, status
                    ):
                        continue
                    problems.append(f"{label} -> {status} response: {_describe(err)}")
            except Exception as exc:  # report, never raise: this runs inside server threads
                problems.append(f"{label}: checker failed: {type(exc).__name__}: {exc}")
        return problems


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
