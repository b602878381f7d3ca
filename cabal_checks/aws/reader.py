"""The one door to AWS: read-only, bounded, each distinct call made once, errors turned into one line.

- Only read operations pass (Describe*, List*, Get*, ...; plus Cognito ``InitiateAuth``, which mints
  a token and changes nothing). Anything else raises ``ReadOnlyViolation`` before a byte is sent.
- Each distinct (service, operation, parameters) is called once per run; concurrent askers share it.
- Timeouts and retries are bounded (botocore standard mode, 3 attempts, known-transient errors only).
- Requests whose AWS quota is a few per second (CloudWatch Logs' FilterLogEvents: 5) are paced to stay inside it,
  every attempt and page included.
- "Can't tell" errors (no credentials, AccessDenied, throttled after retries, endpoint down) become
  ``CantTell`` with one line; "not found" errors become ``NotFound`` so a check can go red on them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import botocore.utils
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from ..config import LOGS_RATE
from ..verdict import CantTell

READ_PREFIXES = ("Describe", "List", "Get", "Lookup", "Filter", "Search", "BatchGet")
ALSO_ALLOWED = {("cognito-idp", "InitiateAuth")}
ACCESS_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException",
                "AuthorizationError", "403"}
CREDENTIAL_CODES = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
                    "SignatureDoesNotMatch", "InvalidSignatureException", "AuthFailure", "InvalidAccessKeyId"}
THROTTLE_CODES = {"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
                  "TooManyRequestsException", "RequestThrottled", "RequestThrottledException", "SlowDown",
                  "ProvisionedThroughputExceededException", "PriorRequestNotComplete"}
EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException"}
ATTEMPTS = 3  # per distinct call, the first try included
CLIENT_WAIT = 30.0  # bound on a gathering thread's wait for the main thread to make a client (a second or so)
POOL = 20  # connections kept per client: as many as a run has in flight to one service, so each is reused
# Every service the suite reads (tests_unit/test_readonly_policy.py checks it against the code and the policy).
SERVICES = ("acm", "cloudfront", "cloudwatch", "cognito-idp", "ec2", "ecs", "elbv2", "lambda", "logs", "route53",
            "scheduler", "ssm",
            "dynamodb", "efs", "backup", "sqs",  # issue 16: DynamoDB/EFS, the heartbeats
            "apigateway")  # issue 16: lambda-throttles escalation 2 (the REST API's id, for its access-log group)
SQS_NO_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")  # SQS's "not found" codes
PACE_SECOND = 1.05  # the second a pace counts over, with a margin for the network's jitter
# boto3 service name -> IAM action prefix, where they differ (iam/readonly-policy.json uses the IAM names).
IAM_PREFIX = {"elbv2": "elasticloadbalancing",
              "efs": "elasticfilesystem"}  # r2 dynamodb/efs
# API Gateway's IAM actions are the HTTP verbs of its management API: every read (GetRestApis, ...) is apigateway:GET.
IAM_VERB = {"apigateway": "GET"}


def iam_action(service: str, api: str) -> str:
    """The IAM action a call needs: ``iam_action("elbv2", "DescribeTargetGroups")`` is
    ``elasticloadbalancing:DescribeTargetGroups``; ``iam_action("apigateway", "GetRestApis")`` is ``apigateway:GET``."""
    return f"{IAM_PREFIX.get(service, service)}:{IAM_VERB.get(service, api)}"


_LOADERS: dict[str | None, botocore.loaders.Loader] = {}  # AWS_DATA_PATH -> the process's botocore model loader
_LOADERS_LOCK = threading.Lock()


def parse_timestamp(value) -> datetime:
    """The answers' timestamps as UTC datetimes, whatever the machine's zone: botocore's own parse gives them the
    local zone, and the checks print them as UTC. Epoch seconds and ISO 8601 with a zone are parsed here (without
    dateutil); anything else (RFC 822, no zone) is botocore's own parse. The same instants either way."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return botocore.utils.parse_timestamp(value)
    return parsed if parsed.tzinfo else botocore.utils.parse_timestamp(value)


def new_session(region: str | None) -> boto3.session.Session:
    """A boto3 session (the default credential chain, as ``boto3.session.Session``) whose service models come from one
    loader per process: botocore parses each service's JSON model again for every new session (about 1 s for the
    sixteen services), so a process making several readers (the unit tests; a forked run) parses them once. Its
    answers' timestamps are parsed by ``parse_timestamp``."""
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    path = core.get_config_variable("data_path")
    with _LOADERS_LOCK:
        if path not in _LOADERS:
            _LOADERS[path] = botocore.loaders.create_loader(path)
        loader = _LOADERS[path]
        core.register_component("data_loader", loader)
        session = boto3.session.Session(botocore_session=core, region_name=region)
        loader.search_paths[:] = dict.fromkeys(loader.search_paths)  # boto3 appends its data folder per session
    return session


def warm() -> None:
    """Parse the service models now (a fork server does, once, before it forks runs)."""
    session = new_session("us-east-1")
    for service in SERVICES:
        session.client(service)


class Pace:
    """At most ``per_second`` requests start in any one second: each takes the earliest start at which fewer than
    ``per_second`` others started in the second before it, and waits until then (a botocore ``before-send`` handler:
    every attempt and every page is a request)."""

    def __init__(self, per_second: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.clock, self.sleep = clock, sleep
        self._starts: deque[float] = deque(maxlen=per_second)  # the newest starts given, oldest first
        self._lock = threading.Lock()

    def start(self) -> float:
        """Reserve the next start: now, or one second after the ``per_second``-th newest start."""
        with self._lock:
            now = self.clock()
            at = now if len(self._starts) < (self._starts.maxlen or 0) else max(now, self._starts[0] + PACE_SECOND)
            self._starts.append(at)
            return at

    def wait(self, **_event) -> None:
        delay = self.start() - self.clock()
        if delay > 0:
            self.sleep(delay)


class NotFound(Exception):
    """The named resource does not exist (AWS said so). A check decides whether that is red."""


class ReadOnlyViolation(RuntimeError):
    """Code tried a non-read AWS operation. A bug in this suite, never an account problem."""


class AwsReader:
    def __init__(self, region: str | None, timeout: float, logs_rate: int = LOGS_RATE):
        # At DEBUG, botocore logs request parameters (the probe password in InitiateAuth) and response bodies
        # (the minted id token): never below INFO, whatever --log-level says.
        for name in ("botocore", "boto3", "urllib3"):
            logging.getLogger(name).setLevel(logging.INFO)
        self.per_try = per_try = max(min(timeout / 2, 5.0), 0.5)
        self.config = Config(connect_timeout=per_try, read_timeout=per_try, user_agent_extra="cabal-checks",
                             max_pool_connections=POOL,
                             # total_max_attempts counts the first try; botocore's "max_attempts" counts
                             # retries only, and would make 4 attempts
                             retries={"mode": "standard", "total_max_attempts": ATTEMPTS})
        self.region = region
        self.timeout = timeout
        self._first_sent: float | None = None  # when this run sent its first request
        self._answered = False  # whether anything but a timeout has come back since (see _silent)
        self._session: boto3.session.Session | None = None  # made on first use, by whichever thread needs it
        self._clients: dict = {}
        self._cache: dict = {}
        self._lock = threading.Lock()  # the cache and the records: held only for a moment
        self._creating = threading.Lock()  # client creation (boto3 sessions are not thread-safe): may take 0.1 s
        self._promised: dict[str, threading.Event] = {}  # clients the main thread will make (see prepare)
        self.made_late: list[str] = []  # clients made outside the main thread (the fault matrix proves: none)
        self.calls: list[tuple[str, str]] = []  # (service, ApiOperation) as sent, for the read-only proof
        self.paces = {("logs", "FilterLogEvents"): Pace(logs_rate)}  # (service, API) -> its pace
        self.retried: dict[tuple[str, str], int] = {}
        self.retried_by: dict[str, list[str]] = {}  # gatherer thread name -> "action xN", for JUnit

    def client(self, service: str):
        if service in self._clients:
            return self._clients[service]
        promised = self._promised.get(service)
        if promised is not None and threading.current_thread() is not threading.main_thread():
            promised.wait(CLIENT_WAIT)  # the main thread is making it (see prepare)
            if service in self._clients:
                return self._clients[service]
        with self._creating:
            if service not in self._clients:
                if self._session is None:
                    self._session = new_session(self.region)
                try:
                    client = self._session.client(service, config=self.config)
                except NoRegionError:
                    raise CantTell("no AWS region: pass --region, set region in the config file, "
                                   "or set AWS_DEFAULT_REGION") from None
                except InvalidRegionError as exc:  # AWS_DEFAULT_REGION or the profile's region: not one
                    raise CantTell(f"AWS region {exc.kwargs.get('region_name', '')!r} is not a region name "
                                   "(us-east-1, ...): fix --region, AWS_DEFAULT_REGION or the profile's region") from None
                for (paced, api), pace in self.paces.items():
                    if paced == service:
                        event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{api}"
                        client.meta.events.register(event, pace.wait)
                self._clients[service] = client
                if threading.current_thread() is not threading.main_thread():
                    self.made_late.append(service)
            return self._clients[service]

    def promise(self, services) -> None:
        """Say which clients ``prepare`` will make: a gathering thread needing one of them waits until it is made
        rather than making it itself."""
        for service in services:
            if service not in self._clients:
                self._promised.setdefault(service, threading.Event())

    def made(self, services) -> bool:
        """Whether every one of these clients exists."""
        return all(service in self._clients for service in services)

    def prepare(self, services=SERVICES, each=lambda service: None) -> None:
        """Make these clients now, in the calling (main) thread, in this order. boto3 reads the proxy settings by
        iterating os.environ while it makes a client, and pytest changes os.environ (PYTEST_CURRENT_TEST) in the main
        thread as tests run: a client made meanwhile in a gathering thread can fail with KeyError. So the main thread
        makes them before the tests run, while the facts already started wait each for its own clients (promise)
        and go as soon as those exist; ``each(service)`` is called after each is made (to start what needs it)."""
        try:
            for service in services:
                self.client(service)
                if service in self._promised:
                    self._promised[service].set()
                each(service)
        except CantTell:  # no region: each fact says so itself
            pass
        finally:
            for event in self._promised.values():
                event.set()

    def make_while(self, waiting: Callable[[], bool], services=SERVICES) -> None:
        """Make clients of ``services``, in this order, in the calling (main) thread while ``waiting()`` is true: a
        run waiting for discovery's answers makes meanwhile the clients its checks will use (17 take 0.6 s in a fresh
        process), and stops once the answers are in (one client late at most). Like ``prepare``, only before the
        tests run."""
        try:
            for service in services:
                if not waiting():
                    return
                self.client(service)
        except CantTell:  # no region: each fact says so itself
            pass

    def operation(self, service: str, method: str) -> str:
        api = self.client(service).meta.method_to_api_mapping.get(method)
        if api is None:
            raise ReadOnlyViolation(f"{service}.{method} is not an AWS operation")
        if not (api.startswith(READ_PREFIXES) or (service, api) in ALSO_ALLOWED):
            raise ReadOnlyViolation(f"{service}:{api} is not a read operation; the suite never changes an account")
        return api

    def call(self, service: str, method: str, **params) -> dict:
        """One AWS call, memoized: the same call with the same parameters is sent once per run."""
        return self._once((service, method, _key(params)), lambda: self._send(service, method, params, False))

    def pages(self, service: str, method: str, result_key: str, **params) -> list:
        """Every item of ``result_key`` across all pages, memoized like ``call``."""
        return self._once((service, method, "pages:" + result_key, _key(params)),
                          lambda: self._send(service, method, params, result_key))

    def _once(self, key, fetch):
        with self._lock:
            slot = self._cache.get(key)
            if slot is None:
                slot = self._cache[key] = {"lock": threading.Lock(), "since": time.monotonic()}
        if "value" not in slot and "error" not in slot:
            # Another check's call of the same request may be hanging (discovery's, before collection): wait for it
            # only as long as this reader's deadline from when that call was sent, not a fresh one from now.
            if not slot["lock"].acquire(timeout=max(slot["since"] + self.timeout - time.monotonic(), 0)):
                raise CantTell(f"AWS {iam_action(key[0], self.operation(key[0], key[1]))}: no answer within "
                               f"{self.timeout:g}s")
            try:
                if "value" not in slot and "error" not in slot:
                    try:
                        slot["value"] = fetch()
                    except (CantTell, NotFound, ReadOnlyViolation) as exc:
                        slot["error"] = exc
            finally:
                slot["lock"].release()
        if "error" in slot:
            raise slot["error"]
        return slot["value"]

    def _silent(self, service: str, api: str) -> None:
        """When AWS has answered none of this run's requests for a whole read timeout since the first (it accepts and
        never answers: every attempt so far has timed out), a new request would cost one more deadline for the same
        news: it is not sent. One answer of any kind (an error included) and every request goes out again."""
        now = time.monotonic()
        with self._lock:
            if self._first_sent is None:
                self._first_sent = now
            elif not self._answered and now - self._first_sent >= self.per_try:
                raise CantTell(f"AWS has answered none of this run's requests for over {self.per_try:g}s (its read "
                               f"timeout): {iam_action(service, api)} not sent")

    def _send(self, service: str, method: str, params: dict, result_key):
        api = self.operation(service, method)
        client = self.client(service)
        self._silent(service, api)
        timed_out = False
        try:
            with self._lock:
                self.calls.append((service, api))
            if result_key:
                items, retries = [], 0
                for page in client.get_paginator(method).paginate(**params):
                    items.extend(_dig(page, result_key))
                    retries += page.get("ResponseMetadata", {}).get("RetryAttempts", 0)
                self._note_retries(service, api, retries)
                return items
            response = getattr(client, method)(**params)
            self._note_retries(service, api, response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
            return response
        except (NoCredentialsError, PartialCredentialsError):
            raise CantTell("no AWS credentials: boto3's default chain found none (set AWS_PROFILE, "
                           "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with a role)") from None
        except ClientError as exc:
            raise _translate(exc, service, api) from None
        except BotoCoreError as exc:
            timed_out = isinstance(exc, (ReadTimeoutError, ConnectTimeoutError))
            raise CantTell(_one_line(f"AWS {iam_action(service, api)} could not be reached: "
                                     f"{type(exc).__name__}: {exc}")[:300]) from None
        finally:
            # anything but a timeout is an answer (an error, no credentials, a refused connection): see _silent
            self._answered = self._answered or not timed_out

    def _note_retries(self, service: str, api: str, n: int) -> None:
        if n:
            self.retried[(service, api)] = self.retried.get((service, api), 0) + n
            self.retried_by.setdefault(threading.current_thread().name, []).append(f"{iam_action(service, api)} x{n}")


def _translate(exc: ClientError, service: str, api: str) -> Exception:
    err = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    code = str(err.get("Code", ""))
    status = meta.get("HTTPStatusCode")
    message = _one_line(str(err.get("Message", "")))[:200]
    action = iam_action(service, api)
    if code.endswith(("NotFound", "NotFoundException", "NotFoundFault")) or code in {"NoSuchEntity", "NoSuchHostedZone",
                                                                                  "ParameterNotFound", "InvalidGroup.NotFound",
                                                                                  *SQS_NO_QUEUE}:
        return NotFound(f"{action}: {code}: {message}")
    if code in EXPIRED_CODES:
        return CantTell(f"AWS rejected the credentials ({code}) calling {action}: they have expired "
                        "(refresh them: aws sso login, or new temporary credentials)")
    if code in CREDENTIAL_CODES:
        return CantTell(f"AWS rejected the credentials ({code}) calling {action}: they are invalid "
                        "(unknown access key, wrong secret, or a token for another account)")
    if code in ACCESS_CODES or status == 403:
        return CantTell(f"AccessDenied: these credentials may not call {action} "
                        f"(the read-only policy in iam/readonly-policy.json grants it)")
    if code in THROTTLE_CODES or status == 429:
        attempts = meta.get("RetryAttempts", 0) + 1
        return CantTell(f"throttled by AWS calling {action} after {attempts} attempt(s) ({code}); try again shortly")
    return CantTell(f"AWS {action} failed: {code or status}: {message}")


def _dig(page: dict, result_key: str) -> list:
    """A page's items under a dotted key (``DistributionList.Items``: CloudFront nests its list, and omits
    ``Items`` when there are none)."""
    node: Any = page  # a dict at each part but the last (AWS's JSON)
    for part in result_key.split("."):
        node = (node or {}).get(part)
    return node or []


def _one_line(text: str) -> str:
    """A can't-tell line must stay one line, whatever the server put in its message (moto: raw XML)."""
    return " ".join(text.split())


def _key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)
