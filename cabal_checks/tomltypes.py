"""TOML values checked against a table of the types each key takes: one line naming the key, what it got (in TOML's
words: "an integer", "an array") and what it takes. Used by the suite's config file and by topology files.

And the user's text as any message echoes it (``bounded``, ``shown``): escaped, so no control character reaches a
terminal as it came, and bounded, so a 100 KB input is not a 100 KB line."""

from __future__ import annotations

from datetime import date, datetime, time

# In this order: a boolean is not an integer, nor a date-time a date (Python's subclasses).
NAMES = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array", dict: "a table",
         datetime: "a date-time", date: "a date", time: "a time"}


def toml_type(value) -> type:
    """The TOML type of a value read by tomllib."""
    return next((kind for kind in NAMES if isinstance(value, kind)), type(value))


def describe(takes: tuple, items: tuple | None = None) -> str:
    text = " or ".join(NAMES.get(kind, kind.__name__) for kind in takes)
    return f"{text} (of {' or '.join(NAMES[kind].split(' ', 1)[1] + 's' for kind in items)})" if items else text


def check(key: str, value, takes: tuple, where: str, error: type[Exception], items: tuple | None = None) -> None:
    """Raise ``error`` naming ``key``, what it got and what it takes, unless ``value`` is one of ``takes`` (and, when
    it is an array and ``items`` is given, each of its items one of ``items``). ``where`` ends the line, in brackets;
    ending in ":" it starts it ("mine.toml: endpoint #1:"), as a topology file's messages do."""
    got = toml_type(value)
    bad = got not in takes or (got is list and items is not None and any(toml_type(x) not in items for x in value))
    if bad:
        shown = NAMES.get(got, got.__name__) if got not in takes else f"an array holding {_kinds(value, items or ())}"
        what = f"{key_name(key)} = {bounded(value)}: got {shown}, takes {describe(takes, items)}"
        raise error(f"{where} {what}" if where.endswith(":") else f"{what} ({where})")


def check_spec(key: str, value, spec: tuple, where: str, error: type[Exception]) -> None:
    """``check`` against a table's entry: ``(takes,)`` or ``(takes, items)``."""
    check(key, value, spec[0], where, error, spec[1] if len(spec) > 1 else None)


def _kinds(values: list, items: tuple) -> str:
    return " and ".join(dict.fromkeys(NAMES.get(toml_type(x), type(x).__name__) for x in values
                                      if toml_type(x) not in items))


def bounded(value, limit: int = 60) -> str:
    """``repr`` of a value, escaped (control characters never printed as they are) and at most ``limit`` long."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(value if isinstance(value, str) else text)} characters)"


def shown(text: str, limit: int = 60) -> str:
    """The user's text (a key, a path) as a message shows it: as written when it is plain, else escaped and quoted."""
    return text if text and text.isprintable() and len(text) <= limit and text.strip() == text else bounded(text, limit)


def key_name(key: str) -> str:
    return shown(key)


def key_names(keys) -> str:
    return ", ".join(key_name(str(k)) for k in sorted(keys, key=str))
