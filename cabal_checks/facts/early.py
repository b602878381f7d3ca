"""What a run of every live test asks AWS whatever discovery answers: started before discovery, not after collection.

A run learns which facts it needs from its collected tests, and collects only once discovery has read the account
(two round trips: the topology, the monitoring module). A run that selects every test (``runs_every_live_test`` in
fixtures/options.py) knows part of it sooner: the facts below take no argument from what discovery decides, and no
answer of it skips the tests that ask for them. Five of a full run's ten FilterLogEvents request sequences are among
them (the mail tiers' groups, list's and dmarc's): started while discovery waits, they go a second earlier, and
CloudWatch Logs' five a second no longer holds up the end of the run. Every live run the unit tests make (each
topology and fault of the matrix, a topology the account contradicts, AWS silent or denying) proves that each fact
started here is one a test of the run asks for (tests_unit/live_run.py).
"""

from __future__ import annotations

from ..config import AUTO
from ..discovery import AUG, MAY
from ..topology import MONITORING_SERVICES, load_topology
from .dynamodb import LIST_GROUP
from .endpoints import minted_token, wants_token
from .table import BY_NAME

# fact -> its test parameters (the same arguments the prefetch computes from a collected test's)
FIXED: dict[str, dict] = {"dmarc_trace": {}, "list_retry_lines": {"list_log_group": LIST_GROUP}}


def before_discovery(settings) -> list[tuple]:
    """The (kind, fact function, arguments) a run of every live test will ask for, whatever discovery decides: the
    facts of ``FIXED``; each mail tier's EFS chown lines (its log group's one read; ntfy's and Kuma's come with the
    monitoring module, which discovery decides); the /list probe's minted token when it carries one. Not certbot's:
    the Let's Encrypt checks carry the markers of the probes whose shape discovery compares (imap, submission), and
    a given topology the account contradicts skips them."""
    candidates = topologies(settings)
    facts = [(BY_NAME[name].kind, BY_NAME[name].fn, BY_NAME[name].args(params)) for name, params in FIXED.items()]
    chown = BY_NAME["chown_facts"]
    facts += [(chown.kind, chown.fn, chown.args({"capacity_service_key": key})) for key in tiers(candidates)]
    if (settings.api_token is None and wants_token(settings)
            and all(any(e.probe == "api_list" for e in t.endpoints) for t in candidates)):
        facts.append(("aws", minted_token, ()))
    return facts


def topologies(settings) -> list:
    """The topologies this run may decide on: the given one, or under auto both built-ins (it chooses between them or
    composes them)."""
    if settings.topology_mode == AUTO:
        return [load_topology(name, settings.control_domain) for name in (MAY, AUG)]
    return [settings.topology]


def tiers(candidates) -> list[str]:
    """The ECS services every one of these topologies has, but the monitoring module's."""
    common = set.intersection(*(set(t.services()) for t in candidates))
    return [key for key in candidates[0].services() if key in common and key not in MONITORING_SERVICES]
