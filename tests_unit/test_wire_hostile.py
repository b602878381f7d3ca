"""Hostile endpoints (issue #5): every way a server can misbehave ends as ONE red line, never a hang or a traceback.

Each case puts one fault on a real loopback server of the 2026-05 wire plant, runs the real probe
(``cabal_checks.wire.probe``) through ``--connect-to``, and judges it with the runbook's own judge
(``judge.endpoints.probe_answers``). The probe must name the step that failed; the verdict must be red with a
one-line summary carrying a word the person on call recognises. Hang cases are bounded only by the probe's own
deadline (1 s): no sleeps, no timing assertions. Every green check has its red twin here: the same families
answer green before any fault (``test_each_family_is_green_without_a_fault``).

The ``imap+starttls`` family is the IMAP backend (Dovecot on 143, behind the NLB in 2026-05), probed as the
in-VPC comparison and the 2026-08 topology do: ``imap+starttls://imap.cabal.internal:143`` verified for the
public name.
"""

from __future__ import annotations

import socket
import ssl
import threading
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cabal_checks import wire
from cabal_checks.certs import chain_facts
from cabal_checks.judge.endpoints import STEP1, probe_answers
from cabal_checks.sandbox.faults import unsigned_jwt
from cabal_checks.sandbox.pki import IssuedCert, SandboxPKI
from cabal_checks.sandbox.wire import WirePlant
from cabal_checks.topology import Endpoint, load_topology
from cabal_checks.verdict import NotApplicable

CD = "cabal.example.test"
HANG_TIMEOUT = 1.0  # the probe deadline where the server never finishes: the only bound on those cases
TIMEOUT = 5.0  # the probe deadline everywhere else: generous, so a slow runner never turns a case into a deadline
MEMORY_BOUND = 1024 * 1024  # bytes: the 10 MiB banner must cost a small fraction of itself
FAMILIES = ("imaps", "imap+starttls", "smtp", "smtp+starttls", "smtps", "https")
TLS_FAMILIES = ("imaps", "imap+starttls", "smtp+starttls", "smtps", "https")
IMPLICIT_TLS = ("imaps", "smtps", "https")  # TLS from the first byte
SERVER_FIRST_STEP = {"imaps": "greeting", "imap+starttls": "greeting", "smtp": "banner", "smtp+starttls": "banner",
                     "smtps": "banner", "https": "http"}  # the first protocol line the probe waits for


# ------------------------------------------------------------------------------------------------ fixtures


@dataclass(frozen=True)
class Target:
    """One scheme family on the plant: the endpoint as judged, what the probe dials, what speaks the protocol."""

    endpoint: Endpoint
    reached: object  # the listener the probe's TCP connection lands on (front, or backend without one)
    speaker: object  # the listener that speaks the protocol (a TLS-terminating front, else the backend)
    backend: object  # the service itself (the ECS task's listener): where the protocol knobs are
    pipeline: str  # the certificate pipeline the speaker serves: acm or le


def target(plant: WirePlant, family: str, probe: str = "") -> Target:
    if family == "imap+starttls":
        public = plant.endpoint("imap")
        url = urlsplit(public.backend)
        ep = replace(public, scheme=url.scheme, host=url.hostname, port=url.port, tls_name=public.verify_name,
                     front="none", internal=True, backend="")
        backend = plant.backend(public)
        return Target(ep, backend, backend, backend, "le")
    ep = next(e for e in plant.topology.endpoints if e.scheme == family and (e.probe == probe or not probe))
    front = plant.front(ep)
    tls_front = front is not None and front.implicit_tls
    backend = plant.backend(ep)
    return Target(ep, plant.listener(ep), front if tls_front else backend, backend, "acm" if tls_front else "le")


def connect_to(plant: WirePlant) -> dict:
    """Public names to their fronts; the backend's Cloud Map name to the backend."""
    return {**wire.parse_connect_to(plant.vpc_connect_to), **wire.parse_connect_to(plant.connect_to)}


def probe(plant: WirePlant, pki: SandboxPKI, ep: Endpoint, timeout: float, dial: bool = True) -> wire.ProbeResult:
    spec = wire.ProbeSpec(ep.scheme, ep.host, ep.port, ep.path or "/", ep.verify_name)
    return wire.probe(spec, timeout, connect_to(plant) if dial else {}, str(pki.ca_bundle_path))


def judge(ep: Endpoint, result: wire.ProbeResult):
    return probe_answers(ep, result, with_token=False, cluster="cabal-cluster", service="cabal-svc")


def self_signed(name: str) -> IssuedCert:
    """A leaf that signs itself (what a hand-made or default-install certificate looks like)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return IssuedCert(cert.public_bytes(serialization.Encoding.PEM), b"", key_pem, cert.serial_number,
                      cert.not_valid_after_utc, cert.fingerprint(hashes.SHA256()).hex())


# ------------------------------------------------------------------------------------------------- faults


@dataclass
class Env:
    plant: WirePlant
    pki: SandboxPKI
    monkeypatch: pytest.MonkeyPatch
    target: Target
    release: threading.Event  # set at teardown: frees anything a case left blocked


def mode(name: str, on: str = "reached") -> Callable[[Env], None]:
    def apply(env: Env) -> None:
        getattr(env.target, on).mode = name
    return apply


def knobs(**values) -> Callable[[Env], None]:
    """The backend's protocol knobs (SMTP banner and STARTTLS, IMAP STARTTLS, HTTP status/body/redirect)."""
    def apply(env: Env) -> None:
        for name, value in values.items():
            setattr(env.target.backend, name, value)
    return apply


def imap_hides_starttls(env: Env) -> None:
    """Dovecot with ``ssl = no``: neither the greeting nor CAPABILITY offers STARTTLS."""
    backend = env.target.backend
    env.monkeypatch.setattr(backend, "GREETING", b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] Cabal sandbox ready\r\n")
    env.monkeypatch.setattr(backend, "CAPS", {False: "IMAP4rev1 LOGINDISABLED", True: "IMAP4rev1"})


def certificate(make: Callable[[SandboxPKI, str], IssuedCert], send_chain: bool = True) -> Callable[[Env], None]:
    def apply(env: Env) -> None:
        env.plant.serve_cert(env.target.pipeline, make(env.pki, env.target.pipeline), send_chain=send_chain)
    return apply


def _now() -> datetime:
    return datetime.now(UTC)


CERTS = {
    "wrong-name": (certificate(lambda pki, i: pki.issue("*.wrong.example.test", issuer=i)), "mismatch"),
    "expired": (certificate(lambda pki, i: pki.issue(f"*.{CD}", issuer=i, not_before=_now() - timedelta(days=90),
                                                     not_after=_now() - timedelta(days=1))), "expired"),
    "not-yet-valid": (certificate(lambda pki, i: pki.issue(f"*.{CD}", issuer=i, not_before=_now() + timedelta(days=1))),
                      "not yet valid"),
    "self-signed": (certificate(lambda pki, i: self_signed(f"*.{CD}")), "self-signed"),
    "untrusted-ca": (certificate(lambda pki, i: pki.issue(f"*.{CD}", issuer=i, untrusted=True)),
                     "unable to get local issuer"),
    "missing-intermediate": (certificate(lambda pki, i: pki.issue(f"*.{CD}", issuer=i), send_chain=False),
                             "unable to get local issuer"),
}


def tls_server(tweak: Callable[[ssl.SSLContext, SandboxPKI], None]) -> Callable[[Env], None]:
    """The speaker serves its usual certificate from a context changed by ``tweak`` (restored at teardown)."""
    def apply(env: Env) -> None:
        cert = getattr(env.plant, f"{env.target.pipeline}_cert")
        ctx = env.pki.server_context(cert)
        tweak(ctx, env.pki)
        env.monkeypatch.setattr(env.target.speaker, "ssl_context", ctx)
    return apply


def sha1_ciphers_only(ctx: ssl.SSLContext, pki: SandboxPKI) -> None:
    """TLS 1.2 with a SHA-1 cipher suite only: the probe's client context (Python's default) offers none."""
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA")


def client_certificate_required(ctx: ssl.SSLContext, pki: SandboxPKI) -> None:
    """Mutual TLS: in TLS 1.3 the server's alert comes after the client thinks the handshake is done."""
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=str(pki.ca_bundle_path))


def resolver_never_answers(env: Env) -> None:
    """A resolver that takes the query and never answers (blocked until the test ends)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if str(host).endswith(".invalid"):
            env.release.wait()
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    env.monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@dataclass(frozen=True)
class Case:
    family: str
    fault: str
    apply: Callable[[Env], None]
    step: str  # the step the probe must name ("" = the dialogue completed; the judge finds the answer wrong)
    word: str  # what the one-line diagnosis must say
    hang: bool = False  # the server never finishes: only the probe's deadline ends it
    probe: str = ""  # which endpoint of the family (https: admin_app, api_list, ntfy)
    resolve: bool = False  # the real resolver and a .invalid name, no --connect-to

    @property
    def id(self) -> str:
        return f"{self.family}-{self.fault}"


def _cases() -> list[Case]:
    cases = []
    for f in FAMILIES:
        tls = f in IMPLICIT_TLS
        first = SERVER_FIRST_STEP[f]
        cases += [
            Case(f, "refused", mode("refuse"), "connect", "refused"),
            Case(f, "silent", mode("silent"), "tls" if tls else first, "no answer within the probe deadline",
                 hang=True),
            Case(f, "close", mode("close"), "tls" if tls else first, "closed the connection"),
            Case(f, "drip", mode("drip", on="speaker"), first, "incomplete at the probe deadline", hang=True),
            Case(f, "huge-banner", mode("huge_banner", on="speaker"), first, "without a line end"),
            Case(f, "garbage", mode("garbage"), "tls" if tls else first,
                 "not TLS" if tls else ("not an SMTP reply" if f.startswith("smtp") else "greeting is not")),
        ]
    for f in IMPLICIT_TLS:
        cases += [
            Case(f, "rst-mid-tls-handshake", mode("rst"), "tls", "reset"),
            Case(f, "tls-handshake-never-completes", mode("tls_stall"), "tls", "no answer within the probe deadline",
                 hang=True),
        ]
    for f in ("smtp", "smtp+starttls", "smtps"):
        cases.append(Case(f, "554-banner", knobs(banner_code=554, banner_text="5.7.1 Access denied"), "banner",
                          "got 554"))
    cases += [
        Case("smtp+starttls", "starttls-not-advertised", knobs(advertise_starttls=False), "starttls", "not advertise"),
        Case("imap+starttls", "starttls-not-advertised", imap_hides_starttls, "starttls", "not advertise"),
        Case("smtp+starttls", "starttls-error", knobs(starttls_error="454 4.7.0 TLS not available"), "starttls",
             "got 454"),
        Case("imap+starttls", "starttls-error", knobs(starttls_error="NO [UNAVAILABLE] TLS not available"),
             "starttls", "STARTTLS refused"),
    ]
    # aiosmtpd (asyncio) drops the connection without sending its alert: the SMTP families would show "closed".
    for f in ("imaps", "imap+starttls", "https"):
        cases += [
            Case(f, "tls-alert-no-common-cipher", tls_server(sha1_ciphers_only), "tls", "alert handshake_failure"),
            Case(f, "tls-alert-client-cert-required", tls_server(client_certificate_required), "tls",
                 "alert certificate_required"),
        ]
    for f in TLS_FAMILIES:
        cases += [Case(f, kind, apply, "tls", word) for kind, (apply, word) in CERTS.items()]
    cases += [
        Case("https", "admin-500", knobs(status=500), "", "answered 500", probe="admin_app"),
        Case("https", "admin-503", knobs(status=503), "", "answered 503", probe="admin_app"),
        Case("https", "list-500", knobs(status=500), "", "answered 500", probe="api_list"),
        Case("https", "list-503", knobs(status=503), "", "answered 503", probe="api_list"),
        Case("https", "ntfy-500", knobs(status=500), "", "answered 500", probe="ntfy"),
        Case("https", "ntfy-503", knobs(status=503), "", "answered 503", probe="ntfy"),
        Case("https", "ntfy-invalid-json", knobs(body=b"{not json"), "", "not JSON", probe="ntfy"),
        Case("https", "ntfy-healthy-false", knobs(body=b'{"healthy":false}'), "",
             '"healthy" is false', probe="ntfy"),
        Case("https", "ntfy-json-not-an-object", knobs(body=b"[]"), "", '"healthy" is null',
             probe="ntfy"),
        Case("https", "admin-redirect-loop", knobs(redirect_loop=True), "http", "redirect loop",
             probe="admin_app"),
    ]
    cases += [Case(f, "name-does-not-resolve", lambda env: None, "resolve", "does not resolve", resolve=True)
              for f in ("imaps", "smtp", "smtp+starttls", "smtps", "https")]
    cases.append(Case("imaps", "resolver-never-answers", resolver_never_answers, "resolve",
                      "no answer from the resolver within the probe deadline", hang=True, resolve=True))
    return cases


CASES = _cases()


def unresolvable(ep: Endpoint) -> Endpoint:
    """The endpoint under a name that cannot exist (RFC 6761 ``.invalid``), as a public name."""
    return replace(ep, host=f"{ep.host.split('.')[0]}.cabal-checks.invalid", tls_name="", internal=False)


# -------------------------------------------------------------------------------------------------- tests


@pytest.fixture
def release():
    event = threading.Event()
    yield event
    event.set()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_endpoint_is_red_with_one_line(plant, pki, monkeypatch, release, case):
    tgt = target(plant, case.family, case.probe)
    case.apply(Env(plant, pki, monkeypatch, tgt, release))
    ep = unresolvable(tgt.endpoint) if case.resolve else tgt.endpoint

    tracemalloc.start()
    try:
        result = probe(plant, pki, ep, HANG_TIMEOUT if case.hang else TIMEOUT, dial=not case.resolve)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    verdict = judge(ep, result)

    assert result.step != "probe", f"the probe crashed instead of naming a step: {result.error}"
    assert (result.step, result.ok) == (case.step, not case.step), f"{result.step}: {result.error}"
    assert not verdict.ok, verdict.render()
    assert case.word in verdict.summary, verdict.summary
    assert "\n" not in verdict.summary and len(verdict.summary) < 400 and "Traceback" not in verdict.render()
    assert verdict.summary.startswith(ep.spec) and verdict.step == STEP1 and verdict.next
    if case.step == "resolve":  # the next command fits where it failed: the name, not a handshake
        assert verdict.next[0].startswith(f"dig +short {ep.host}; dig +short {ep.host} @1.1.1.1"), verdict.next
    assert peak < MEMORY_BOUND, f"the probe peaked at {peak} bytes"


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_is_green_without_a_fault(plant, pki, family):
    """The red cases' twin: the same endpoint, probe and judge, no fault."""
    ep = target(plant, family).endpoint
    result = probe(plant, pki, ep, TIMEOUT)
    assert (result.ok, result.step, result.error) == (True, "", "")
    assert judge(ep, result).ok
    assert result.verified is (family != "smtp" or None)


@pytest.mark.parametrize("family", TLS_FAMILIES)
def test_an_intermediate_expiring_before_its_leaf_still_verifies_but_the_facts_show_it(plant, pki, family):
    """Verification passes today; the facts must carry the intermediate's earlier NotAfter for the cert checks."""
    tgt = target(plant, family)
    soon = _now() + timedelta(days=3)
    plant.serve_cert(tgt.pipeline, pki.issue(f"*.{CD}", issuer=tgt.pipeline, intermediate_not_after=soon))
    result = probe(plant, pki, tgt.endpoint, TIMEOUT)
    assert result.ok and result.verified, f"{result.step}: {result.error}"
    assert judge(tgt.endpoint, result).ok
    leaf, intermediate = chain_facts(result.chain)
    assert intermediate.not_after < leaf.not_after
    assert abs(intermediate.not_after - soon) < timedelta(seconds=1)


def test_an_internal_name_that_does_not_resolve_here_is_not_red(plant, pki):
    """The red case's twin: a VPC-internal name is expected not to resolve outside the VPC: a skip, not red."""
    tgt = target(plant, "imap+starttls")
    ep = replace(unresolvable(tgt.endpoint), internal=True)
    result = probe(plant, pki, ep, TIMEOUT, dial=False)
    assert result.step == "resolve"
    with pytest.raises(NotApplicable, match="VPC-internal"):
        judge(ep, result)


# --------------------------------------------------------------------------------------------- the /list token


def fresh_jwt() -> str:
    """An unexpired, unsigned id token: the sandbox's /list accepts any token whose ``exp`` is ahead."""
    return unsigned_jwt(3600, sub="token-test")


def list_probe(plant, pki, monkeypatch, timeout: float, late) -> tuple[wire.ProbeResult, list]:
    """The /list probe with ``late`` headers; also every Authorization header the sandbox's HTTP servers saw."""
    tgt = target(plant, "https", "api_list")
    seen: list = []
    answer = tgt.backend.reply  # the API itself: the front terminates TLS and passes the request on

    def reply(path, headers):
        seen.append(headers.get("Authorization"))
        return answer(path, headers)

    monkeypatch.setattr(tgt.backend, "reply", reply)
    spec = wire.ProbeSpec("https", tgt.endpoint.host, tgt.endpoint.port, tgt.endpoint.path, tgt.endpoint.verify_name)
    return wire.probe(spec, timeout, connect_to(plant), str(pki.ca_bundle_path), late_headers=late), seen


def test_list_token_is_sent_once_tls_is_verified(plant, pki, monkeypatch):
    """Green twin: the token is asked for after the handshake, sent, and the endpoint answers 200."""
    token = fresh_jwt()
    asked: list = []
    result, seen = list_probe(plant, pki, monkeypatch, TIMEOUT,
                              lambda: asked.append(1) or {"Authorization": f"Bearer {token}"})
    assert result.ok and result.status == 200, result.error
    assert asked == [1] and seen == [f"Bearer {token}"]
    assert token not in " ".join(result.transcript) and "Authorization: <redacted>" in " ".join(result.transcript)


def test_waiting_for_the_token_is_not_charged_to_the_endpoint(plant, pki, monkeypatch):
    """Minting took longer than the whole probe deadline (a clock moved 10 s inside ``late``): the endpoint still
    gets its own time and answers green."""
    offset = [0.0]
    clock = wire.time.monotonic
    monkeypatch.setattr(wire.time, "monotonic", lambda: clock() + offset[0])

    def slow_token() -> dict:
        offset[0] += 10 * HANG_TIMEOUT
        return {"Authorization": f"Bearer {fresh_jwt()}"}

    result, _ = list_probe(plant, pki, monkeypatch, HANG_TIMEOUT * 3, slow_token)
    assert result.ok and result.status == 200, result.error


def test_a_hung_list_endpoint_ends_at_its_deadline_without_waiting_for_the_token(plant, pki, monkeypatch):
    """Red twin: the endpoint accepts and stays silent. The probe is red at the TLS step, and the token was never
    asked for, so however slow minting is, the probe ends at its own deadline."""
    target(plant, "https", "api_list").reached.mode = "silent"
    asked: list = []
    result, _ = list_probe(plant, pki, monkeypatch, HANG_TIMEOUT, lambda: asked.append(1) or {})
    assert not result.ok and result.step == "tls" and "no answer" in result.error
    assert asked == []


@pytest.mark.parametrize("bad_cert", ["self-signed", "wrong-name"])
def test_the_token_never_reaches_a_peer_that_failed_verification(plant, pki, monkeypatch, bad_cert):
    """The probe looks at an unverified chain a second time to report it: without the token, static or late."""
    tgt = target(plant, "https", "api_list")
    apply, _ = CERTS[bad_cert]
    apply(Env(plant, pki, monkeypatch, tgt, threading.Event()))
    token = fresh_jwt()
    tgt_spec = tgt.endpoint
    spec = wire.ProbeSpec("https", tgt_spec.host, tgt_spec.port, tgt_spec.path, tgt_spec.verify_name,
                          {"Authorization": f"Bearer {token}"})
    result, seen = list_probe(plant, pki, monkeypatch, TIMEOUT, lambda: {"Authorization": f"Bearer {token}"})
    static = wire.probe(spec, TIMEOUT, connect_to(plant), str(pki.ca_bundle_path))
    assert not result.ok and result.step == "tls" and not static.ok and static.step == "tls"
    assert result.chain and static.chain  # the second look happened, and reported the chain
    assert seen and all(header is None for header in seen), seen


def test_a_token_that_cannot_be_had_is_the_callers_error_not_a_red_probe(plant, pki, monkeypatch):
    """Minting failed (AccessDenied, Cognito down): the exception reaches the caller (a can't-tell), the probe
    does not turn it into a red endpoint."""
    class Unminted(Exception):
        pass

    def no_token() -> dict:
        raise Unminted("cannot mint a token")

    with pytest.raises(Unminted):
        list_probe(plant, pki, monkeypatch, TIMEOUT, no_token)


def test_the_in_vpc_batch_keeps_order_and_each_verdict(plant, pki):
    """``probe_all`` (what runs on --vpc-host, every endpoint in one process): results in the order asked, a
    refused endpoint red beside a healthy one green."""
    good, bad = target(plant, "smtp"), target(plant, "smtps")
    bad.reached.mode = "refuse"
    specs = [wire.ProbeSpec(t.endpoint.scheme, t.endpoint.host, t.endpoint.port, "/", t.endpoint.verify_name)
             for t in (bad, good)]
    first, second = wire.probe_all(specs, TIMEOUT, connect_to(plant), str(pki.ca_bundle_path))
    assert (first.ok, first.step, second.ok) == (False, "connect", True), (first.error, second.error)
    assert first.spec.startswith("smtps://") and second.spec.startswith("smtp://")


# --- every address behind a name (issue #17, item 15) ---------------------------------------------------------


@pytest.fixture
def second_node(plant):
    """The relay's NLB with a second node, in another zone, at 127.0.0.2: the public name stands for both."""
    from cabal_checks.sandbox.nodes import add_node

    ep = plant.endpoint("smtp_relay")
    node = add_node(plant.front(ep), ep.host, ep.port, "127.0.0.2", "us-east-1b")
    yield ep, node
    node.listener.stop()


def probe_both(plant, pki, ep, node, timeout: float) -> wire.ProbeResult:
    dial = {**connect_to(plant), **wire.parse_connect_to([*plant.connect_to, node.connect_to])}
    return wire.probe(wire.ProbeSpec(ep.scheme, ep.host, ep.port), timeout, dial, str(pki.ca_bundle_path))


def test_repeating_connect_to_for_a_name_gives_it_several_addresses():
    assert wire.parse_connect_to(["a.net:25:127.0.0.1:2525", "a.net:25:127.0.0.2:2526", "a.net:25:127.0.0.1:2525"]) \
        == {"a.net:25": "127.0.0.1:2525,127.0.0.2:2526"}
    assert wire.parse_connect_to(["a.net:25:127.0.0.1:2525"]) == {"a.net:25": "127.0.0.1:2525"}  # one: as before


def test_every_address_of_a_name_is_probed_and_one_bad_node_is_red_naming_it(plant, pki, second_node):
    ep, node = second_node
    healthy = probe_both(plant, pki, ep, node, TIMEOUT)
    assert healthy.ok and [a["ok"] for a in healthy.addresses] == [True, True], healthy.addresses
    v = judge(ep, healthy)
    assert v.ok and v.summary == f"{ep.spec} answered at each of its 2 addresses"
    assert f"address {node.connect_to.split(':', 2)[2]}: answered" in v.evidence
    node.listener.mode = "silent"  # the node in us-east-1b accepts and never greets; the other is fine
    r = probe_both(plant, pki, ep, node, HANG_TIMEOUT)
    # before: the probe dialled the first address only, and the bad node hid behind the good one
    assert not r.ok and r.step == "banner" and r.address == f"127.0.0.2:{node.listener.port}"
    assert [a["ok"] for a in r.addresses] == [True, False]
    v = probe_answers(ep, r, with_token=False, cluster="cabal-cluster", service="cabal-svc",
                      zones={"127.0.0.2": "us-east-1b", "127.0.0.1": "us-east-1a"})
    assert not v.ok and v.summary.startswith(
        f"{ep.spec} failed at banner at 127.0.0.2:{node.listener.port} in us-east-1b (1 of 2 addresses failing): ")
    assert f"address 127.0.0.1:{plant.front(ep).port} in us-east-1a: answered" in v.evidence
    assert v.step == STEP1 and v.next[:2] == (f"nc -zv 127.0.0.2 {node.listener.port}", f"nc -zv {ep.host} 25")
    assert wire.ProbeResult.from_json(r.to_json()) == r  # as the in-VPC batch sends it back, every address kept


def test_when_every_address_hangs_each_ends_at_the_one_deadline(plant, pki, second_node):
    ep, node = second_node
    plant.front(ep).mode = node.listener.mode = "silent"
    r = probe_both(plant, pki, ep, node, HANG_TIMEOUT)
    assert not r.ok and len(r.addresses) == 2
    assert all("within the probe deadline" in a["error"] for a in r.addresses), r.addresses
    assert "(2 of 2 addresses failing)" in judge(ep, r).summary


def test_one_address_answering_the_wrong_http_status_is_red_though_its_dialogue_passed():
    ntfy = load_topology("2026-05", CD).endpoints[-1]
    assert ntfy.probe == "ntfy"
    lines = ({"address": "192.0.2.1:443", "ok": True, "step": "", "error": "", "status": 200,
              "body": '{"healthy":true}'},
             {"address": "192.0.2.2:443", "ok": True, "step": "", "error": "", "status": 503, "body": ""})
    r = wire.ProbeResult(spec=ntfy.spec, ok=True, step="", error="", address="192.0.2.1:443", status=200,
                         body='{"healthy":true}', addresses=lines)
    v = judge(ntfy, r)
    assert not v.ok and v.summary == f"{ntfy.spec} at 192.0.2.2:443 (1 of 2 addresses failing) answered 503, want 200"
    assert v.next[0] == f"curl -I --connect-to {ntfy.host}:443:192.0.2.2:443 {ntfy.spec}"
    assert judge(ntfy, replace(r, addresses=(lines[0], {**lines[0], "address": "192.0.2.2:443"}))).ok


def test_an_ipv6_address_this_runner_cannot_reach_is_listed_not_judged():
    lines = ({"address": "192.0.2.1:25", "ok": True, "step": "", "error": "", "status": None, "body": ""},
             {"address": "2001:db8::1:25", "ok": False, "step": "connect", "status": None, "body": "",
              "error": f"TCP connect to 2001:db8::1:25 failed: Network is unreachable ({wire.NO_ROUTE})"})
    relay = next(e for e in load_topology("2026-05", CD).endpoints if e.probe == "smtp_relay")
    r = wire.ProbeResult(spec=relay.spec, ok=True, step="", error="", address="192.0.2.1:25", addresses=lines)
    v = judge(relay, r)
    assert v.ok and any(wire.NO_ROUTE in e for e in v.evidence)
    only = replace(r, ok=False, step="connect", error=lines[1]["error"], addresses=(lines[1], lines[1]))
    assert not judge(relay, only).ok  # no address reachable at all: red, as one address would be
