"""Secrets out of what mockbook prints: one helper for every command and log line.

:func:`redact_url` parses a URL and replaces its password (whatever its encoding: plain,
percent-encoded, or holding ``@ / : # % ?``) and the values of secret-looking query parameters
with ``***``; :func:`redact_text` does it for every URL and ``password=...`` pair in a text (an
error message, a log line). The log formatters of glue.logs pass every line through it.

The authority is split at the *last* ``@`` before the end of the URL, not at the first ``/``
the way a strict parser would: a password holding an unencoded ``/``, ``?`` or ``#`` is not a
valid URL, but it is exactly the mistake whose output must not show it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode

MASK = "***"
# query parameters whose value is a secret (libpq's, Redis', HubSpot's and the usual ones)
SECRET_PARAMS = frozenset({
    "password", "pass", "passwd", "pwd", "sslpassword", "secret", "client_secret", "token",
    "access_token", "refresh_token", "api_key", "apikey", "hapikey", "key", "auth",
})
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# key=value connection strings (libpq's "host=... password=..."), quoted or not
# (not the plain "key" or "auth" here: log lines carry Redis keys as key=...)
_PAIR_KEYS = SECRET_PARAMS - {"key", "auth", "pass"}
_PAIR = re.compile(
    r"\b(?P<key>" + "|".join(sorted(_PAIR_KEYS, key=len, reverse=True)) + r")"
    r"(?P<eq>\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|[^\s&'\"]+)",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _redact_pairs(url)
    userinfo, at, hostpart = rest.rpartition("@")
    if at:
        user = userinfo.split(":", 1)[0]
        rest = f"{user}:{MASK}@{hostpart}" if ":" in userinfo else f"{user}@{hostpart}"
    else:
        hostpart = rest
    base, qmark, query = rest.partition("?")
    if qmark:
        query, hash_, fragment = query.partition("#")
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_PARAMS for k, _ in pairs):
            query = urlencode(
                [(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs],
                safe="*", quote_via=quote,
            )
        rest = f"{base}?{query}{hash_}{fragment}"
    return f"{scheme}://{rest}"


def _redact_pairs(text: str) -> str:
    return _PAIR.sub(lambda m: f"{m['key']}{m['eq']}{MASK}", text)


def redact_text(text: str) -> str:
    """Every URL and ``password=...``-like pair in ``text`` redacted."""
    if "://" not in text and "=" not in text:
        return text
    return _redact_pairs(_URL.sub(lambda m: redact_url(m.group(0)), text))


_RAW_IN_USERINFO = re.compile(r"[@/:#?\s\[\]]|%(?![0-9A-Fa-f]{2})")


def normalize_url(url: str) -> tuple[str, str | None]:
    """(``url`` as libpq can read it, its password or None): a user or password holding
    characters a URL needs encoded (``@ / : # ? [ ]``, spaces, a ``%`` that starts no
    percent-encoding) is percent-encoded, split as :func:`redact_url` splits it (at the last
    ``@``). A key=value string, or a URL without them, is returned as it is."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        found = _PAIR.search(url)
        password = None
        for m in _PAIR.finditer(url):
            if m["key"].lower() == "password":
                password = m["value"].strip("'")
        return url, password if found else None
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        return url, None
    user, colon, password = userinfo.partition(":")
    if _RAW_IN_USERINFO.search(user):
        user = quote(user, safe="")
    if colon and _RAW_IN_USERINFO.search(password):
        password = quote(password, safe="")
    from urllib.parse import unquote

    plain = unquote(password) if colon else None
    return f"{scheme}://{user}{colon}{password}@{hostpart}", plain


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` redacted (:func:`redact_text`) and every given secret (longer than 2
    characters) in it, as it is or percent-encoded, replaced by ``***``."""
    text = redact_text(text)
    for secret in secrets:
        if secret and len(secret) > 2:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, MASK)
    return text
