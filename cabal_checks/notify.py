"""``cabal-checks-notify``: page on a change of state only, without Cabalmail's monitoring module.

    python -m pytest tests_live ... --results-json reports/results.json
    cabal-checks-notify --results reports/results.json --state state/results.json

Compares this run's results (``--results-json``) with the previous run's (the state file) and pages what
changed, one page per runbook step and kind, as Cabalmail's Alertmanager route groups them:

- a step newly red: ``critical`` (``warning`` for the 21-day tier), its cause (summary and first ``next:``);
- a red step green (or not applicable) again: ``[RESOLVED] ...``, as a warning (alert_sink's own rule);
- a step that cannot be judged: one ``warning``, once, until it can be judged again.

A step still red pages nothing; an id absent from this run (a narrower ``-m``) keeps its previous state.
Channels (any of them): the Pushover API (``PUSHOVER_APP_TOKEN`` + ``PUSHOVER_USER_KEY``), a webhook that
takes alert_sink's own JSON (``--webhook URL`` or ``ALERT_SINK_URL``; ``Authorization: Bearer
$ALERT_SINK_SECRET``), ntfy (``--ntfy URL`` or ``NTFY_URL``; ``NTFY_TOKEN``). The state file is written
only when every page went out, so a page that failed is sent again by the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import results
from .metrics import RED_INFO_MAX, red_info_summary

PUSHOVER_URL = "https://api.pushover.net/1/messages.json"
RUNBOOK_URL = "https://github.com/cabalmail/cabal-infra/blob/main/docs/operations/runbooks/{}.md"
PUSHOVER_MAX = 1024  # Pushover's message limit (alert_sink cuts there too)
TIMEOUT = 10


@dataclass(frozen=True)
class Page:
    severity: str  # critical | warning
    summary: str
    source: str
    runbook_url: str

    def payload(self) -> dict:
        """alert_sink's direct body: ``severity``, ``summary``, ``source``, ``runbook_url``."""
        return {"severity": self.severity, "summary": self.summary, "source": self.source,
                "runbook_url": self.runbook_url}


def _instance(r: results.Result) -> str:
    return r.target or r.check


def _kind(before: str | None, now: str) -> str | None:
    if now == "red" and before != "red":
        return "RunbookStepRed"
    if before == "red" and now in ("green", "not_applicable"):
        return "resolved"
    if now == "cant_tell" and before != "cant_tell":
        return "RunbookStepCantTell"
    return None


def pages(previous: dict[str, results.Result], current: dict[str, results.Result]) -> list[Page]:
    """What changed between two runs, one page per (kind, severity, runbook, step), first id's cause first."""
    groups: dict[tuple, list[results.Result]] = {}
    for test_id, r in sorted(current.items()):
        before = previous.get(test_id)
        kind = _kind(before.status if before else None, r.status)
        if kind:
            severity = r.severity if kind == "RunbookStepRed" else "warning"
            groups.setdefault((kind, severity, r.runbook, r.step), []).append(r)
    out = []
    for (kind, severity, runbook, step), rs in groups.items():
        first, more = rs[0], f" (+{len(rs) - 1} more)" if len(rs) > 1 else ""
        if kind == "RunbookStepRed":
            text = red_info_summary(first)
        elif kind == "resolved":
            text = f"{first.test_id} is {first.status.replace('_', ' ')} again"
        else:
            text = f"{first.test_id}: {first.summary}"[:RED_INFO_MAX]
        summary = ("[RESOLVED] " if kind == "resolved" else "") + f"{runbook} {step}: {text}{more}"
        name = "RunbookStepRed" if kind == "resolved" else kind
        out.append(Page(severity, summary[:PUSHOVER_MAX], f"cabal-checks/{name}/{_instance(first)}",
                        RUNBOOK_URL.format(runbook)))
    return out


# --- channels -----------------------------------------------------------------------------------------

def _post(req: urllib.request.Request) -> None:
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        if resp.status >= 300:
            raise OSError(f"HTTP {resp.status}")


def send_pushover(page: Page, url: str, token: str, user: str) -> None:
    fields = {"token": token, "user": user, "title": f"[{page.severity.upper()}] {page.source}",
              "message": page.summary, "priority": 1 if page.severity == "critical" else 0,
              "url": page.runbook_url, "url_title": "Runbook"}
    _post(urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST"))


def send_webhook(page: Page, url: str, secret: str | None) -> None:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {secret}"} if secret else {})}
    _post(urllib.request.Request(url, data=json.dumps(page.payload()).encode(), headers=headers, method="POST"))


def send_ntfy(page: Page, url: str, token: str | None) -> None:
    headers = {"Title": f"[{page.severity.upper()}] {page.source}", "Priority": "5" if page.severity == "critical" else "3",
               "Click": page.runbook_url, "Content-Type": "text/plain; charset=utf-8",
               **({"Authorization": f"Bearer {token}"} if token else {})}
    _post(urllib.request.Request(url, data=page.summary.encode()[:4096], headers=headers, method="POST"))


def channels(args, env) -> list:
    out = []
    if env.get("PUSHOVER_APP_TOKEN") and env.get("PUSHOVER_USER_KEY"):
        out.append(("pushover", lambda p: send_pushover(p, args.pushover_url, env["PUSHOVER_APP_TOKEN"],
                                                        env["PUSHOVER_USER_KEY"])))
    webhook = args.webhook or env.get("ALERT_SINK_URL")
    if webhook:
        out.append(("webhook", lambda p: send_webhook(p, webhook, env.get("ALERT_SINK_SECRET") or None)))
    ntfy = args.ntfy or env.get("NTFY_URL")
    if ntfy:
        out.append(("ntfy", lambda p: send_ntfy(p, ntfy, env.get("NTFY_TOKEN") or None)))
    return out


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    p = argparse.ArgumentParser(prog="cabal-checks-notify", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, metavar="FILE", help="this run's --results-json file")
    p.add_argument("--state", required=True, metavar="FILE", help="the previous run's results (kept between runs)")
    p.add_argument("--webhook", metavar="URL", help="POST alert_sink's JSON here (default env ALERT_SINK_URL)")
    p.add_argument("--ntfy", metavar="URL", help="POST to this ntfy topic URL (default env NTFY_URL)")
    p.add_argument("--pushover-url", default=PUSHOVER_URL, metavar="URL", help="Pushover's messages endpoint")
    args = p.parse_args(argv)
    if not Path(args.results).is_file():
        print(f"cabal-checks-notify: no results at {args.results}: the run did not complete; state kept", file=sys.stderr)
        return 2
    current, _ = results.load(args.results)
    previous = results.load(args.state)[0] if Path(args.state).is_file() else {}
    todo, failed = pages(previous, current), []
    sinks = channels(args, env)
    for page in todo:
        print(f"page [{page.severity}] {page.source}: {page.summary}")
        for name, send in sinks:
            try:
                send(page)
            except OSError as exc:
                failed.append(name)
                print(f"cabal-checks-notify: {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    if todo and not sinks:
        print("cabal-checks-notify: no channel configured (PUSHOVER_*, ALERT_SINK_URL, NTFY_URL): printed only",
              file=sys.stderr)
    if failed:
        print("cabal-checks-notify: state kept, so the next run pages again", file=sys.stderr)
        return 1
    results.dump({**previous, **current}, args.state)
    print(f"cabal-checks-notify: {len(todo)} page(s), {len(current)} results compared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
