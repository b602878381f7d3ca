"""Every item of every Cabalmail runbook at HEAD has its row in docs/runbook-coverage.md: each numbered item of
"First three things to check" and each bullet of "Escalation" (issue #16, "Done when").

The items are read from cabal-infra's runbooks at ``runbook_catalog.HEAD``; CI has no clone, so a frozen copy of what
is checked (runbook, item, its bold title or first words) is committed beside this file
(``runbook_items_56bdbf2e.tsv``). Where the cabal-infra clone is present (``CABAL_INFRA_REPO``, or the mirror this
suite was written against), the copy is proven equal to the runbooks at that commit; without it that one test skips
with one line and the rest check the copy. Regenerate (a new HEAD):
``python -m tests_unit.test_runbook_items /path/to/cabal-infra > tests_unit/runbook_items_56bdbf2e.tsv``.

Item ids are the catalog's (``runbook_catalog.Step.item``): "1".."n" for the numbered items, counted through the
section (cert-expiring's ACM list is 1-3, its Let's Encrypt list 4-6), "e1".."en" for the escalation bullets at the
margin (a bullet's sub-bullets are its own)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cabal_checks import runbook_catalog as cat
from cabal_checks.runbooks import STEPS, answered

FROZEN = Path(__file__).with_name(f"runbook_items_{cat.HEAD[:8]}.tsv")
MIRROR = "/work/.mirror/cabalmail+cabal-infra/repo"
RUNBOOKS = "docs/operations/runbooks"


def items(text: str) -> list[tuple[str, str]]:
    """(item id, its bold title or first 60 characters) of one runbook's markdown."""
    out, section, n, e = [], "", 0, 0
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        numbered, bullet = re.match(r"(\d+)\. (.*)", line), re.match(r"- (.*)", line)
        if section == "First three things to check" and numbered:
            n += 1
            out.append((str(n), _title(numbered.group(2))))
        elif section == "Escalation" and bullet:
            e += 1
            out.append((f"e{e}", _title(bullet.group(1))))
    return out


def _title(text: str) -> str:
    bold = re.match(r"\*\*(.+?)\*\*", text)
    return (bold.group(1) if bold else text)[:60].strip()


def read_head(repo: str) -> str:
    """The frozen copy's text, read from a cabal-infra clone at the catalog's HEAD (bounded: local git)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True,
                              timeout=30).stdout
    lines = []
    for path in git("ls-tree", "--name-only", cat.HEAD, f"{RUNBOOKS}/").split():
        if not path.endswith("/README.md"):
            lines += [f"{path.rsplit('/', 1)[1]}\t{k}\t{t}" for k, t in items(git("show", f"{cat.HEAD}:{path}"))]
    return "\n".join(lines) + "\n"


def frozen() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for line in FROZEN.read_text().splitlines():
        file, key, title = line.split("\t")
        out.setdefault(file, {})[key] = title
    return out


def test_the_frozen_copy_is_the_runbooks_at_head():
    repo = os.environ.get("CABAL_INFRA_REPO", MIRROR)
    if not Path(repo).exists():
        pytest.skip(f"no cabal-infra clone at {repo} (set CABAL_INFRA_REPO): the frozen copy is checked as committed")
    assert FROZEN.read_text() == read_head(repo), f"regenerate {FROZEN.name} (this module's docstring)"


def test_the_parser_reads_numbered_items_and_margin_bullets_only():
    text = ("## What this means\n1. **Not a step**\n## First three things to check\n### ACM\n1. **Why?** More.\n"
            "   ```sh\n   1. not an item\n   ```\n   - a sub-bullet\n### LE\n1. **When?**\n## Escalation\n"
            "- **Deliverability**:\n  - a sub-bullet\n- This is `warning` severity.\n## Next\n- not escalation\n")
    assert items(text) == [("1", "Why?"), ("2", "When?"), ("e1", "Deliverability"),
                           ("e2", "This is `warning` severity.")]


def test_the_copy_holds_every_runbook_of_the_catalog():
    got = frozen()
    assert set(got) | {"heartbeat-quarterly-review.md"} == set(cat.BY_FILE)
    # quarterly-review has neither section: its five review items are under "What this means"; the catalog's
    # reasons cover them without an item id of this form
    assert "heartbeat-quarterly-review.md" not in got
    assert sum(len(v) for v in got.values()) == 134


def test_every_catalog_step_names_an_item_of_its_runbook():
    """Both ways, the catalog side: a step answers an item that exists at HEAD."""
    got = frozen()
    for r in cat.RUNBOOKS:
        if r.file in got:
            strays = [s.key for s in r.steps if s.item not in got[r.file]]
            assert not strays, f"{r.file}: catalog steps {strays} answer no item at HEAD"


def test_every_row_covers_an_item_that_exists():
    got = frozen()
    for step in STEPS:
        for c in step.covers:
            runbook, item = c.split(":", 1) if ":" in c else (step.runbook, c)
            assert item in got.get(f"{runbook}.md", {}), f"{step.key} covers {c}: no such item at HEAD"


def test_every_item_at_head_has_its_row():
    """Each item: a row with live tests, a remediation row (printed, never run), or the catalog's reason."""
    got = frozen()
    rows = {file: answered(cat.BY_FILE[file]) for file in got}
    missing = sorted((file, key, title) for file, keys in got.items() for key, title in keys.items()
                     if key not in rows[file])
    assert not missing, "items with no row (a test, or the catalog's reason):\n" + "\n".join(
        f"  {f} {k}: {t}" for f, k, t in missing)


if __name__ == "__main__":
    sys.stdout.write(read_head(sys.argv[1] if len(sys.argv) > 1 else MIRROR))
