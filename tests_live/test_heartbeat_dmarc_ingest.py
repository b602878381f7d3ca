"""heartbeat-dmarc-ingest runbook (Healthchecks check dmarc-ingest: timeout 6 h, grace 2 h).

The real places, not the runbook's text: the Lambda process_dmarc, run by the EventBridge Scheduler schedule
cabal-process-dmarc every 6 hours (not by SES or S3 events), logging to /cabal/lambda/process_dmarc a
"[process_dmarc] run summary: {...}" line after every completed run (with or without mail). Its Healthchecks ping is
monitoring-module only: the summary line is the substitute.
Step 1: the schedule. The heartbeat (condition): the newest summary within 6 h + 2 h. Step 2 (reports arriving) is the
summary's queued counter, shown by step 3. Step 3: the summary's errors counter is 0.
"""

import pytest

from cabal_checks.judge import heartbeat as hb

pytestmark = [pytest.mark.heartbeat_dmarc_ingest, pytest.mark.heartbeat, pytest.mark.aws]


def test_dmarc_schedule_enabled(dmarc_schedule_name, dmarc_trace, settings, expect):
    expect(hb.dmarc_schedule(dmarc_trace, settings.names))


@pytest.mark.condition
def test_dmarc_ingest_heartbeat(dmarc_function_name, dmarc_trace, settings, expect):
    expect(hb.dmarc_heartbeat(dmarc_trace, settings.history_now, settings.names))


def test_dmarc_last_run_without_errors(dmarc_function_name, dmarc_trace, settings, expect):
    expect(hb.dmarc_no_errors(dmarc_trace, settings.names))
