"""The files a run is asked to write (``--runbook-report``, ``--results-json``, ``--metrics-file``, ``--junitxml``):
checked before the run, so a path that cannot be written stops it at once with one line (not a traceback after
it); and written so that a write that still fails at the end costs one line, never the run's results.

Pure path logic; ``fixtures/options.py`` is the glue. Nothing here creates a file or a folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from .config import ConfigError
from .tomltypes import shown


def check(option: str, path: str | os.PathLike) -> None:
    """``ConfigError`` (one line: the option, the path, why) unless ``path`` can be written: it is not a folder, and
    the folder it goes in exists as a writable folder or can be made under the nearest one that does."""
    text = str(path)
    said = f"{option} {shown(text, 200)}"
    if not text.strip():
        raise ConfigError(f"{said}: an empty path")
    if "\0" in text:
        raise ConfigError(f"{said}: a path cannot hold a NUL character")
    target = Path(text)
    try:
        if target.is_dir():
            raise ConfigError(f"{said}: is a folder, not a file")
        if target.exists() and not os.access(target, os.W_OK):
            raise ConfigError(f"{said}: not writable")
        parent = target.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise ConfigError(f"{said}: {shown(str(parent), 200)} is a file, not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigError(f"{said}: the folder {shown(str(parent), 200)} is not writable")
    except OSError as exc:  # a name too long, a loop of links...: the OS's own reason
        raise ConfigError(f"{said}: {exc.strerror or exc}") from None


def write(option: str, path: str | os.PathLike, writer: Callable[[], None], say: Callable[[str], None] | None = None) -> bool:
    """Run ``writer`` (which writes ``path``); an ``OSError`` is one line through ``say`` (default: stderr), not an
    exception that would take the run's summary with it. True when written."""
    try:
        writer()
        return True
    except OSError as exc:
        (say or (lambda line: print(line, file=sys.stderr)))(
            f"ERROR: {option} {shown(str(path), 200)}: not written ({exc.strerror or type(exc).__name__}); the results are above")
        return False
