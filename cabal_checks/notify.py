"""``cabal-checks-notify``: page on a change of state only, without Cabalmail's monitoring module.

    python -m pytest tests_live ... --results-json reports/results.json
    cabal-checks-notify --results reports/results.json --state state/results.json

Compares this run's results (``--results-json``) with the previous run's (the state file) and pages what
changed, one page per cause, as the run's diagnosis found them (results.json's ``role`` and ``cause``):

- a cause newly red: ``critical`` (``warning`` when the cause and its consequences are all of the 21-day tier);
  its first line names the cause (runbook, step, test id, summary and first ``next:``), the next line its
  consequences, folded into this one page;
- a cause green (or not applicable) again: ``[RESOLVED] ...``, as a warning (alert_sink's own rule);
- a step that cannot be judged: one ``warning`` per runbook step, once, until it can be judged again.

A cause still red pages nothing, nor does a new consequence of it; an id absent from this run (a narrower
``-m``) keeps its previous state. A red without a role (a results file of an older suite) is its own cause.
Channels (any of them): the Pushover API (``PUSHOVER_APP_TOKEN`` + ``PUSHOVER_USER_KEY``), a webhook that
takes alert_sink's own JSON (``--webhook URL`` or ``ALERT_SINK_URL``; ``Authorization: Bearer
$ALERT_SINK_SECRET``), ntfy (``--ntfy URL`` or ``NTFY_URL``; ``NTFY_TOKEN``). The state advances only for the
pages every channel took (and for what needed no page): a page that failed, or that no channel was configured
for, is sent by the next run. Exit status: 0 every page out, 1 some page not out, 2 no or unreadable results.
A corrupt state file is said once, treated as unknown (every red pages again) and rewritten.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, replace
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
    ids: tuple[str, ...] = ()  # the test ids whose state this page carries (advanced only when it went out)

    def payload(self) -> dict:
        """alert_sink's direct body: ``severity``, ``summary``, ``source``, ``runbook_url``."""
        return {"severity": self.severity, "summary": self.summary, "source": self.source,
                "runbook_url": self.runbook_url}


def _instance(r: results.Result) -> str:
    return r.target or r.check


def cause_of(r: results.Result) -> str:
    """The test id of a red's cause (its own when the results carry no diagnosis)."""
    return r.cause or r.test_id


def _open(rs: dict[str, results.Result]) -> dict[str, list[results.Result]]:
    """cause id -> its reds (the cause first when it is red), in test-id order."""
    out: dict[str, list[results.Result]] = {}
    for _, r in sorted(rs.items()):
        if r.status == "red":
            out.setdefault(cause_of(r), []).append(r)
    for cause, members in out.items():
        members.sort(key=lambda r: r.test_id != cause)
    return out


def _red_page(cause: str, members: list[results.Result]) -> Page:
    first = members[0]  # the cause itself (or, when it did not run, its first red)
    more = [r.test_id for r in members if r.test_id != first.test_id]
    severity = "critical" if any(r.severity == "critical" for r in members) else "warning"
    text = f"{first.runbook} {first.step}: {first.test_id}: {red_info_summary(first)}"
    if more:
        text += f"\nconsequences ({len(more)}): {', '.join(more)}"
    return Page(severity, text[:PUSHOVER_MAX], f"cabal-checks/RunbookStepRed/{_instance(first)}",
                RUNBOOK_URL.format(first.runbook), (cause, *more))


def _resolved_page(cause: results.Result, members: list[results.Result]) -> Page:
    text = f"[RESOLVED] {cause.runbook} {cause.step}: {cause.test_id} is {cause.status.replace('_', ' ')} again"
    return Page("warning", text[:PUSHOVER_MAX], f"cabal-checks/RunbookStepRed/{_instance(cause)}",
                RUNBOOK_URL.format(cause.runbook), tuple(r.test_id for r in members))


def pages(previous: dict[str, results.Result], current: dict[str, results.Result]) -> list[Page]:
    """What changed between two runs: one page per cause newly red (its consequences in it), one per cause
    cleared, one per runbook step newly can't tell."""
    before, now = _open(previous), _open(current)
    out = [_red_page(cause, members) for cause, members in now.items() if cause not in before]
    for cause, members in before.items():
        r = current.get(cause)
        if r is not None and r.status in ("green", "not_applicable"):
            cleared = [m for m in members if current.get(m.test_id, m).status != "red" or m.test_id == cause]
            out.append(_resolved_page(r, [r, *(m for m in cleared if m.test_id != cause)]))
    cant: dict[tuple, list[results.Result]] = {}
    for test_id, r in sorted(current.items()):
        was = previous.get(test_id)
        if r.status == "cant_tell" and (was is None or was.status != "cant_tell"):
            cant.setdefault((r.runbook, r.step), []).append(r)
    for (runbook, step), rs in cant.items():
        first, more = rs[0], f" (+{len(rs) - 1} more)" if len(rs) > 1 else ""
        text = f"{runbook} {step}: {f'{first.test_id}: {first.summary}'[:RED_INFO_MAX]}{more}"
        out.append(Page("warning", text[:PUSHOVER_MAX], f"cabal-checks/RunbookStepCantTell/{_instance(first)}",
                        RUNBOOK_URL.format(runbook), tuple(r.test_id for r in rs)))
    return out


def named(out: list[Page], deployment: str) -> list[Page]:
    """Each page says which deployment it is about (``--deployment``), first, when the run named one."""
    return [replace(p, summary=f"[{deployment}] {p.summary}"[:PUSHOVER_MAX]) for p in out] if deployment else out


def next_state(previous: dict[str, results.Result], current: dict[str, results.Result],
               not_out: list[Page]) -> dict[str, results.Result]:
    """The state to keep: this run's results, except the ids of pages that did not go out (their previous)."""
    held = {i for p in not_out for i in p.ids}
    return {**previous, **{i: r for i, r in current.items() if i not in held}}


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


def url(text: str) -> str:
    """An http(s) URL with a host (argparse type): anything else is a usage error, not a traceback later."""
    shown = repr(text) if len(text) <= 80 else f"{text[:80]!r}... ({len(text)} characters)"
    try:
        parts = urllib.parse.urlsplit(text.strip())
        parts.port  # noqa: B018  (a port out of range or not a number raises here, not at the first page)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown} is not an http(s) URL with a host") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() or ord(c) < 32 for c in parts.netloc):
        raise argparse.ArgumentTypeError(f"{shown} is not an http(s) URL with a host")
    return text.strip()


def _load_state(path: str) -> dict[str, results.Result]:
    """The previous run's results; a corrupt state is said once and treated as unknown (it is rewritten below)."""
    if not Path(path).is_file():
        return {}
    try:
        return results.load(path)[0]
    except results.BadFile as exc:
        print(f"cabal-checks-notify: state {exc}: treated as unknown (every red pages again); rewritten after this run",
              file=sys.stderr)
        return {}


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    p = argparse.ArgumentParser(prog="cabal-checks-notify", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, metavar="FILE", help="this run's --results-json file")
    p.add_argument("--state", required=True, metavar="FILE", help="the previous run's results (kept between runs)")
    p.add_argument("--webhook", type=url, metavar="URL", help="POST alert_sink's JSON here (default env ALERT_SINK_URL)")
    p.add_argument("--ntfy", type=url, metavar="URL", help="POST to this ntfy topic URL (default env NTFY_URL)")
    p.add_argument("--pushover-url", type=url, default=PUSHOVER_URL, metavar="URL", help="Pushover's messages endpoint")
    args = p.parse_args(argv)
    for option, name in (("webhook", "ALERT_SINK_URL"), ("ntfy", "NTFY_URL")):
        if getattr(args, option) is None and env.get(name):
            try:
                setattr(args, option, url(env[name]))
            except argparse.ArgumentTypeError as exc:
                p.error(f"environment {name}: {exc}")
    if not Path(args.results).is_file():
        print(f"cabal-checks-notify: no results at {args.results}: the run did not complete; state kept", file=sys.stderr)
        return 2
    try:
        current, meta = results.load(args.results)
    except results.BadFile as exc:
        print(f"cabal-checks-notify: results {exc}: state kept", file=sys.stderr)
        return 2
    previous = _load_state(args.state)
    todo, not_out = named(pages(previous, current), str(meta.get("deployment") or "")), []
    sinks = channels(args, env)
    for page in todo:
        print(f"page [{page.severity}] {page.source}: {page.summary}")
        ok = bool(sinks)
        for name, send in sinks:
            try:
                send(page)
            except OSError as exc:
                ok = False
                print(f"cabal-checks-notify: {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        if not ok:
            not_out.append(page)
    try:
        results.dump(next_state(previous, current, not_out), args.state)
    except OSError as exc:
        print(f"cabal-checks-notify: cannot write the state {args.state}: {exc.strerror or exc}: the next run pages "
              "these again", file=sys.stderr)
        return 1
    if todo and not sinks:
        print("cabal-checks-notify: no channel configured (PUSHOVER_*, ALERT_SINK_URL, NTFY_URL): printed only; "
              "state kept for these pages, so they go out once a channel exists", file=sys.stderr)
    elif not_out:
        print(f"cabal-checks-notify: {len(not_out)} of {len(todo)} page(s) not out: their state kept, so the next "
              "run pages them again", file=sys.stderr)
    print(f"cabal-checks-notify: {len(todo) - len(not_out)} of {len(todo)} page(s) out, {len(current)} results compared")
    return 1 if not_out else 0


if __name__ == "__main__":
    sys.exit(main())
