"""The suite's settings: command line over TOML file (``--cabal-config`` / ``CABAL_CONFIG``) over defaults.

The option names, TOML keys and environment variables are a public contract (issue #2): extend, never
rename. ``load_settings`` raises ``ConfigError`` with one line naming the problem and where it is.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from . import tomltypes
from .names import DEFAULT_NAMES, merge_names
from .topology import Topology, TopologyError, load_topology, without_monitoring
from .wire import parse_connect_to

# option dest -> TOML key. The first eight are the fixed interface; the rest are extensions.
KEYS = {
    "control_domain": "control_domain",
    "topology": "topology",
    "region": "region",
    "connect_to": "connect_to",
    "ca_bundle": "ca_bundle",
    "probe_timeout": "probe_timeout",
    "now": "now",
    "vpc_host": "vpc_host",
    # extensions
    "vpc_connect_to": "vpc_connect_to",
    "aws_timeout": "aws_timeout",
    "monitoring": "monitoring",
    "alert": "alert",
    "metrics_file": "metrics_file",
    "deployment": "deployment",
    "logs_rate": "logs_rate",
}
TABLES = {"names"}
# TOML key -> the TOML types it takes, and an array's items (one table: every key of the file is checked before it is
# used). Numbers also take a string ("3"), and a list key a single string, as the command line gives them.
NUMBER, TEXT = (int, float, str), (str,)
TYPES = {
    "control_domain": (TEXT,), "topology": (TEXT,), "region": (TEXT,), "connect_to": ((str, list), TEXT),
    "ca_bundle": (TEXT,), "probe_timeout": (NUMBER,), "now": ((str, datetime, date),), "vpc_host": (TEXT,),
    "vpc_connect_to": ((str, list), TEXT), "aws_timeout": (NUMBER,), "monitoring": ((bool, str),), "alert": (TEXT,),
    "metrics_file": (TEXT,), "names": ((dict,),), "deployment": (TEXT,), "logs_rate": (NUMBER,),
}
# CloudWatch Logs' quota for FilterLogEvents per account and Region, the one read a run could send faster
# (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html); --logs-rate lowers it.
LOGS_RATE = 5
DEFAULTS = {"topology": "2026-05", "probe_timeout": 5.0, "aws_timeout": 10.0, "monitoring": "auto",
            "logs_rate": LOGS_RATE}
REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")  # botocore's own check of a region name
NOW_RANGE = (datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(9000, 1, 1, tzinfo=timezone.utc))
DEPLOYMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", flags=re.ASCII)  # a label value and a file name
AUTO = "auto"  # topology = "auto" / monitoring = "auto": read the account before collection (cabal_checks.discovery)


class ConfigError(ValueError):
    """A configuration that cannot be used. The message is one line and names where the problem is."""


class Secret:
    """A secret value that never prints itself: ``str()`` and ``repr()`` name only its source."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str):
        self._value, self.source = value, source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"<secret from {self.source}>"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    control_domain: str
    topology: Topology
    region: str | None
    connect_to: dict
    ca_bundle: str | None
    probe_timeout: float
    now: datetime
    now_given: bool
    vpc_host: str | None
    vpc_connect_to: dict
    aws_timeout: float
    names: dict
    topology_mode: str = "default"  # "default" (2026-05, the contract), "given" (named by the user) or "auto"
    monitoring: str = AUTO  # "true", "false" or "auto": are the monitoring module's endpoints and services checked
    shape: object = None  # what discovery found (cabal_checks.discovery.Shape), once it ran
    metrics_file: str | None = None
    api_token: Secret | None = None
    probe_username: str | None = None
    probe_password: Secret | None = None
    source: str = ""
    secrets: tuple = field(default=(), repr=False)
    alert: str | None = None  # --alert: the page, resolved against the topology at collection
    deployment: str = ""  # --deployment: which deployment this run checks (stage, prod, an operator's); "" = unnamed
    read_at: datetime | None = None  # when this run reads AWS (the real clock at load)
    logs_rate: int = LOGS_RATE  # --logs-rate: FilterLogEvents started per second at most (the account's quota, shared)

    @property
    def history_now(self) -> datetime:
        """The instant a window of AWS history (metrics, log lines, jobs) is judged at: ``now``, unless ``--now`` is ahead
        of the clock: a forecast is for certificates; no metric or log line of the future exists yet."""
        return history_now(self)

    def name(self, key: str) -> str:
        return self.names[key]


def parse_now(text: str, real_now: datetime) -> datetime:
    """``2026-12-01T00:00:00Z``, ``2026-12-01`` or ``+14d`` / ``-3d`` / ``+12h`` relative to the real clock."""
    m = re.fullmatch(r"([+-]\d+(?:\.\d+)?)([dh])", text.strip(), flags=re.ASCII)
    try:
        if m:
            amount = float(m.group(1))
            when = real_now + (timedelta(days=amount) if m.group(2) == "d" else timedelta(hours=amount))
        else:
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        if not NOW_RANGE[0] <= when <= NOW_RANGE[1]:  # every judgement adds or takes days: keep room for them
            raise OverflowError
    except OverflowError:
        raise ConfigError(f"now = {tomltypes.bounded(text)}: out of range (years 1970-9000)") from None
    except ValueError:
        raise ConfigError(f"now = {tomltypes.bounded(text)}: expected an ISO 8601 instant or +Nd / +Nh") from None
    return when


def read_toml(path: str) -> dict:
    where = f"config file {tomltypes.shown(path, 200)}"
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{where}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: malformed TOML: {exc}") from None
    except (OSError, ValueError) as exc:  # a folder, unreadable, not UTF-8, a NUL in the name
        raise ConfigError(f"{where}: cannot be read "
                          f"({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    unknown = sorted(set(data) - set(KEYS.values()) - TABLES)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {tomltypes.key_names(unknown)} "
                          f"(known: {', '.join(sorted(set(KEYS.values()) | TABLES))})")
    for key, value in data.items():
        tomltypes.check_spec(key, value, TYPES[key], where, ConfigError)
    for key, value in data.get("names", {}).items():
        tomltypes.check(f"names.{tomltypes.key_name(key)}", value, TEXT, where, ConfigError)
    return data


def load_settings(cli: dict, env: Mapping[str, str] | None = None, real_now: datetime | None = None,
                  require_domain: bool = True) -> Settings:
    """Merge ``cli`` (option dest -> value or None) over the TOML file over defaults, and validate."""
    env = os.environ if env is None else env
    real_now = real_now or datetime.now(timezone.utc)
    path = cli.get("cabal_config") or env.get("CABAL_CONFIG")
    data = read_toml(path) if path else {}
    where = f"config file {tomltypes.shown(path, 200)}" if path else "command line"

    def value(key):
        given = cli.get(key)
        if given not in (None, [], ""):
            return given
        return data.get(KEYS[key], DEFAULTS.get(key))

    alert = cli.get("alert") if cli.get("alert") is not None else data.get("alert")
    if alert is not None and not str(alert).strip():
        raise ConfigError("--alert is blank: give the page as it arrived, e.g. --alert "
                          "'[CRITICAL] alertmanager/BlackboxProbeFailure/smtp-in.<cd>:25', or leave it out to run every check")
    domain = (value("control_domain") or "").strip().rstrip(".").lower()
    if require_domain and not domain:
        raise ConfigError("no control domain: pass --control-domain D (or control_domain in --cabal-config / CABAL_CONFIG)")
    if domain and not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+", domain):
        raise ConfigError(f"control_domain {domain!r} is not a DNS name ({where})")
    which = str(value("topology"))
    given = cli.get("topology") not in (None, "") or "topology" in data
    mode = AUTO if which == AUTO else "given" if given else "default"
    deployment = str(value("deployment") or "").strip()
    if deployment and not DEPLOYMENT.fullmatch(deployment):
        raise ConfigError(f"deployment = {tomltypes.bounded(deployment)}: expected a name of letters, digits, '.', '_' "
                          f"or '-', at most 63, starting with a letter or digit (it labels metrics and pages) ({where})")
    monitoring = str(value("monitoring")).lower()
    if monitoring not in ("true", "false", AUTO):
        raise ConfigError(f"monitoring = {value('monitoring')!r}: expected true, false or \"auto\" ({where})")
    try:  # auto: the default shape until discovery has read the account
        topology = load_topology(str(DEFAULTS["topology"]) if mode == AUTO else which, domain)
    except TopologyError as exc:
        raise ConfigError(str(exc)) from None
    if monitoring == "false":
        topology = without_monitoring(topology)
    try:
        connect_to = parse_connect_to(_list(value("connect_to")))
        vpc_connect_to = parse_connect_to(_list(value("vpc_connect_to")), "--vpc-connect-to")
    except ValueError as exc:
        raise ConfigError(f"{exc} ({where})") from None
    region = value("region") or None
    if region is not None and not REGION.fullmatch(region):
        raise ConfigError(f"region {tomltypes.bounded(region)}: not an AWS region name, e.g. us-east-1 ({where})")
    ca_bundle = value("ca_bundle")
    if ca_bundle and not _is_file(ca_bundle):
        raise ConfigError(f"ca_bundle {tomltypes.bounded(ca_bundle)}: no such file ({where})")
    timeouts = {}
    for key in ("probe_timeout", "aws_timeout"):
        try:
            timeouts[key] = float(value(key))
            assert 0 < timeouts[key] <= 600
        except (TypeError, ValueError, AssertionError):
            raise ConfigError(f"{key} = {value(key)!r}: expected seconds, 0 < s <= 600 ({where})") from None
    try:
        logs_rate = int(str(value("logs_rate")))
        assert 1 <= logs_rate <= 100
    except (TypeError, ValueError, AssertionError):
        raise ConfigError(f"logs_rate = {tomltypes.bounded(value('logs_rate'))}: expected FilterLogEvents requests "
                          f"per second, a whole number 1-100 ({where})") from None
    now_text = value("now")
    now = parse_now(str(now_text), real_now) if now_text else real_now
    names_table = data.get("names", {})  # a table of strings (TYPES)
    try:
        names = merge_names(names_table)
    except KeyError:
        unknown = tomltypes.key_names(set(names_table) - set(DEFAULT_NAMES))
        raise ConfigError(f"{where}: unknown [names] key(s) {unknown} (see docs/interface.md, 'Resource names')") from None
    token = env.get("CABAL_API_TOKEN")
    password = env.get("CABAL_PROBE_PASSWORD")
    return Settings(
        control_domain=domain,
        topology=topology,
        region=region,
        connect_to=connect_to,
        ca_bundle=str(ca_bundle) if ca_bundle else None,
        probe_timeout=timeouts["probe_timeout"],
        now=now,
        now_given=bool(now_text),
        read_at=real_now,
        vpc_host=value("vpc_host") or None,
        vpc_connect_to=vpc_connect_to,
        aws_timeout=timeouts["aws_timeout"],
        names=names,
        topology_mode=mode,
        monitoring=monitoring,
        metrics_file=str(value("metrics_file")) if value("metrics_file") else None,
        api_token=Secret(token, "CABAL_API_TOKEN") if token else None,
        probe_username=env.get("CABAL_PROBE_USERNAME") or None,
        probe_password=Secret(password, "CABAL_PROBE_PASSWORD") if password else None,
        source=where,
        secrets=tuple(s for s in (token, password) if s),
        alert=str(value("alert")).strip() if value("alert") else None,
        deployment=deployment,
        logs_rate=logs_rate,
    )


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except (OSError, ValueError):  # a NUL, a name too long
        return False


def _list(v) -> list:
    """connect_to / vpc_connect_to: one entry or a list of them (their types are checked: TYPES, the option)."""
    return [] if v is None else [v] if isinstance(v, str) else list(v)


def history_now(settings) -> datetime:
    """``Settings.history_now`` for any settings-like object (the unit tests' stand-ins carry only ``now``)."""
    read_at = getattr(settings, "read_at", None)
    return min(settings.now, read_at) if read_at else settings.now
