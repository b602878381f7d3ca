"""What the checks read in a service's log group ``/ecs/<service>``, declared once, and the one read that serves them.

The mail-log alerts' substitutes, the reconfigure heartbeat and its loop, the address map, the plaintext refusals and
the EFS chown step all read lines of the same groups. Each check keeps its own words and window, but takes its events
from one ``Scan`` per group: every word below, over the last ``SPAN`` (the longest of their windows) up to the end of
the evaluation minute. A full run then sends one FilterLogEvents request sequence per service log group
(fail2ban's day of lines aside), inside CloudWatch Logs' 5 requests per second.
"""

from __future__ import annotations

from datetime import timedelta

from ..aws.cloudwatch import whole_minute
from ..aws.log_counts import Scan
from ..config import history_now
from ..context import Context

CHOWN = "failed to chown"  # EFS access point: the entrypoint's chown of the mail store (efs-burst-credits e2)
REGENERATING = "[reconfigure] Regenerating"  # docker/shared/reconfigure.sh:31
RECONFIGURE_DONE = "[reconfigure] Done."  # docker/shared/reconfigure.sh:75
RECONFIGURE_START = "Starting config watch loop"
DEFERRED = "stat=Deferred"
BOUNCED = "dsn=5"
AUTH_FAILED = "auth failed"
LOGIN_OK = ("Login: user=",)  # imap-login: Info: Login: user=<...>
PLAINTEXT_WORDS = ("Plaintext authentication", "disallowed plaintext auth")  # the banner's refusal; Dovecot's line
WORDS = (CHOWN, REGENERATING, RECONFIGURE_DONE, RECONFIGURE_START, DEFERRED, BOUNCED, AUTH_FAILED, *LOGIN_OK,
         *PLAINTEXT_WORDS)
SPAN = timedelta(hours=2)  # the newest "[reconfigure] Done." is looked for over 2 h; every other window is shorter


def scan(ctx: Context) -> Scan:
    """This run's read of a service log group: every word above, up to the end of the evaluation minute."""
    end = whole_minute(history_now(ctx.settings)) + timedelta(minutes=1)
    return Scan(WORDS, end - SPAN, end)
