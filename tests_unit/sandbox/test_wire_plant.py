"""The sandbox wire plant, probed with stdlib clients over loopback, for both topologies.

Clients dial 127.0.0.1:<port> but verify (SNI, chain, name) against the public name, like curl --connect-to.
Every green check has a red twin: the same client fails on the fault.
"""

from __future__ import annotations

import base64
import http.client
import imaplib
import json
import smtplib
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from cabal_checks.sandbox.wire import MODES, WirePlant, jwt_exp
from cabal_checks.topology import load_topology

CD = "cabal.example.test"
TIMEOUT = 3.0  # a bound on every client call, never a wait


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module", params=["2026-05", "2026-08"])
def plant_topology(request) -> str:
    """Both topologies: the shared ``plant`` (tests_unit/conftest.py) runs each in turn."""
    return request.param


@pytest.fixture
def ctx(pki) -> ssl.SSLContext:
    return pki.client_context()


# -------------------------------------------------------------------------------------------------- clients


def dial(port: int, timeout: float = TIMEOUT) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def drain(sock: socket.socket) -> bytes:
    """Everything the peer sends until it closes."""
    data = b""
    while chunk := sock.recv(1024):
        data += chunk
    return data


def tls_dial(port: int, name: str, ctx: ssl.SSLContext, timeout: float = TIMEOUT) -> ssl.SSLSocket:
    sock = dial(port, timeout)
    try:
        return ctx.wrap_socket(sock, server_hostname=name)
    except BaseException:
        sock.close()
        raise


def peer_sha256(sock: ssl.SSLSocket) -> str:
    return x509.load_der_x509_certificate(sock.getpeercert(binary_form=True)).fingerprint(
        hashes.SHA256()).hex()


class Imap(imaplib.IMAP4):
    """IMAP4 to 127.0.0.1:port; ``host`` is only the name to verify."""

    def _create_socket(self, timeout):
        return dial(self.port, timeout)


class Imaps(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout):
        return tls_dial(self.port, self.host, self.ssl_context, timeout)


class Smtp(smtplib.SMTP):
    def _get_socket(self, host, port, timeout):
        return dial(port, timeout)


class Smtps(smtplib.SMTP_SSL):
    def _get_socket(self, host, port, timeout):
        return tls_dial(port, host, self.context, timeout)


def smtp(name: str, port: int) -> Smtp:
    return Smtp(name, port, local_hostname="probe.sandbox.test", timeout=TIMEOUT)


def https_get(port: int, host: str, path: str, ctx: ssl.SSLContext, headers: dict | None = None):
    """(status, headers, body) of one GET through a TLS front."""
    conn = http.client.HTTPSConnection(host, 443, context=ctx, timeout=TIMEOUT)
    conn._create_connection = lambda address, timeout, source: dial(port, timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def unsigned_jwt(exp: float) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'kid': 'sandbox'})}.{part({'sub': 'sandbox', 'exp': int(exp)})}.c2lnbmF0dXJl"


def ep_of(plant: WirePlant, spec_start: str):
    """The endpoint whose spec starts with ``spec_start``, e.g. ``smtps://``."""
    return next(ep for ep in plant.topology.endpoints if ep.spec.startswith(spec_start))


def verify_code(exc_info) -> int:
    return exc_info.value.verify_code


# --------------------------------------------------------------------------------------------------- wiring


def test_connect_to_names_every_public_address(plant):
    rows = {row.rsplit(":127.0.0.1:", 1)[0]: int(row.rsplit(":", 1)[1]) for row in plant.connect_to}
    every = plant.topology.endpoints + plant.topology.sites  # the front door too
    assert set(rows) == {f"{ep.host}:{ep.port}" for ep in every}
    for ep in every:
        assert rows[f"{ep.host}:{ep.port}"] == plant.listener(ep).port


def test_vpc_connect_to_sends_backend_urls_to_backends(plant):
    rows = {row.rsplit(":127.0.0.1:", 1)[0]: int(row.rsplit(":", 1)[1]) for row in plant.vpc_connect_to}
    imap = plant.endpoint("imap")
    assert rows["imap.cabal.internal:143"] == plant.backend(imap).port
    if plant.topology.name == "2026-05":
        assert rows[f"imap.{CD}:993"] == plant.front(imap).port  # hairpin through the NLB
        assert plant.front(imap).port != plant.backend(imap).port
    relay = plant.endpoint("smtp_relay")  # a shell in the task reaches the task, not the NLB
    assert rows[f"{relay.host}:{relay.port}"] == plant.backend(relay).port != plant.listener(relay).port


def test_every_listener_is_on_its_own_port(plant):
    ports = [listener.port for listener in plant.listeners()]
    assert all(ports) and len(set(ports)) == len(ports)


# ---------------------------------------------------------------------------------------- endpoints: green


def test_imap_answers_at_its_public_address(plant, ctx):
    ep = plant.endpoint("imap")
    port = plant.listener(ep).port
    if ep.scheme == "imaps":
        client = Imaps(ep.verify_name, port, ssl_context=ctx, timeout=TIMEOUT)
    else:
        client = Imap(ep.verify_name, port, timeout=TIMEOUT)
        assert client.starttls(ctx)[0] == "OK"
    try:
        assert client.welcome.startswith(b"* OK")
        assert client.noop()[0] == "OK"
        assert peer_sha256(client.sock) == (plant.acm_cert if ep.scheme == "imaps" else plant.le_cert).sha256
    finally:
        assert client.logout()[0] == "BYE"


def test_imap_backend_speaks_starttls_with_the_le_cert(plant, ctx):
    client = Imap(f"imap.{CD}", plant.backend("imap").port, timeout=TIMEOUT)
    try:
        assert "STARTTLS" in client.capabilities
        client.starttls(ctx)
        assert peer_sha256(client.sock) == plant.le_cert.sha256
        assert "STARTTLS" not in client.capabilities
    finally:
        client.logout()


def test_imap_backend_answers_bad_to_unknown_commands(plant):
    with dial(plant.backend("imap").port) as sock:
        sock.recv(1024)
        sock.sendall(b"a1 LOGIN x y\r\n")
        assert sock.recv(1024).startswith(b"a1 BAD")


def test_smtp_relay_offers_starttls_and_takes_mail(plant, ctx):
    ep = plant.endpoint("smtp_relay")
    client = smtp(ep.verify_name, plant.listener(ep).port)
    try:
        assert client.ehlo()[0] == 250 and client.has_extn("starttls")
        assert client.starttls(context=ctx)[0] == 220
        assert peer_sha256(client.sock) == plant.le_cert.sha256
        assert client.sendmail("probe@sandbox.test", [f"postmaster@{CD}"], "Subject: probe\r\n\r\nhi\r\n") == {}
    finally:
        client.quit()


def test_submission_587_requires_starttls(plant, ctx):
    ep = ep_of(plant, "smtp+starttls://")
    client = smtp(ep.verify_name, plant.listener(ep).port)
    try:
        client.ehlo()
        assert client.mail("probe@sandbox.test")[0] == 530  # red: no TLS yet
        client.starttls(context=ctx)
        assert client.sendmail("probe@sandbox.test", [f"x@{CD}"], "Subject: probe\r\n\r\nhi\r\n") == {}
    finally:
        client.quit()


def test_submission_465_is_implicit_tls_with_the_le_cert(plant, ctx):
    ep = ep_of(plant, "smtps://")
    client = Smtps(ep.verify_name, plant.listener(ep).port, local_hostname="probe.sandbox.test", context=ctx,
                   timeout=TIMEOUT)
    try:
        assert client.ehlo()[0] == 250
        assert peer_sha256(client.sock) == plant.le_cert.sha256
        assert client.noop()[0] == 250
    finally:
        client.quit()


def test_smtp_banner_names_the_public_host(plant):
    ep = plant.endpoint("smtp_relay")
    with dial(plant.listener(ep).port) as sock:
        assert sock.recv(1024).startswith(f"220 smtp-in.{CD} ".encode())


def test_admin_app_serves_html_with_the_acm_cert(plant, ctx):
    port = plant.listener("admin_app").port
    status, headers, body = https_get(port, f"admin.{CD}", "/", ctx)
    assert status == 200 and headers["Content-Type"] == "text/html" and b"<html" in body
    with tls_dial(port, f"admin.{CD}", ctx) as sock:
        assert peer_sha256(sock) == plant.acm_cert.sha256


def test_api_list_accepts_a_fresh_token_with_or_without_bearer(plant, ctx):
    port = plant.listener("api_list").port
    token = unsigned_jwt(time.time() + 3600)
    for auth in (f"Bearer {token}", token):
        status, _, body = https_get(port, f"admin.{CD}", "/prod/list", ctx, {"Authorization": auth})
        assert status == 200 and json.loads(body)["Items"]


@pytest.mark.parametrize(
    "auth, message",
    [
        (None, "Unauthorized"),
        ("Bearer not-a-jwt", "Unauthorized"),
        ("Bearer a.%%%.c", "Unauthorized"),
        ("expired", "The incoming token has expired"),
    ],
    ids=["missing", "garbled", "bad-base64", "expired"],
)
def test_api_list_refuses_a_bad_token(plant, ctx, auth, message):
    if auth == "expired":
        auth = f"Bearer {unsigned_jwt(time.time() - 60)}"
    headers = {"Authorization": auth} if auth else {}
    status, _, body = https_get(plant.listener("api_list").port, f"admin.{CD}", "/prod/list", ctx, headers)
    assert (status, json.loads(body)) == (401, {"message": message})


def test_ntfy_health(plant, ctx):
    status, _, body = https_get(plant.listener("ntfy").port, f"ntfy.{CD}", "/v1/health", ctx)
    assert (status, json.loads(body)) == (200, {"healthy": True})


def test_fronts_fail_verification_for_a_wrong_name_or_the_system_store(plant, ctx):
    port = plant.listener("ntfy").port
    with pytest.raises(ssl.SSLCertVerificationError) as wrong_name:
        tls_dial(port, "ntfy.elsewhere.test", ctx)
    assert verify_code(wrong_name) == 62  # hostname mismatch
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_dial(port, f"ntfy.{CD}", ssl.create_default_context())


def test_jwt_exp_reads_only_well_formed_payloads():
    assert jwt_exp(unsigned_jwt(1234)) == 1234.0
    assert jwt_exp("") is None and jwt_exp("a.b") is None and jwt_exp("a.bnVsbA.c") is None


# -------------------------------------------------------------------------------------------------- modes


def test_unknown_mode_is_refused(plant):
    with pytest.raises(ValueError):
        plant.backend("ntfy").mode = "sideways"
    assert "tls_stall" in MODES


@pytest.mark.parametrize("which", ["front", "backend"])
def test_refuse_closes_the_port_and_normal_reopens_the_same_one(plant, which):
    ep = plant.endpoint("smtp_relay")
    listener = getattr(plant, which)(ep)
    port = listener.port
    listener.mode = "refuse"
    with pytest.raises(ConnectionRefusedError):
        dial(port)
    listener.mode = "normal"
    assert listener.port == port
    with dial(port) as sock:
        assert sock.recv(1024).startswith(b"220 ")


def test_silent_accepts_and_says_nothing(plant):
    listener = plant.listener("smtp_relay")
    listener.mode = "silent"
    with dial(listener.port, timeout=0.3) as sock, pytest.raises(TimeoutError):
        sock.recv(1024)


def test_close_accepts_then_closes(plant):
    listener = plant.listener("smtp_relay")
    listener.mode = "close"
    with dial(listener.port) as sock:
        assert sock.recv(1024) == b""


def test_drip_sends_the_greeting_a_byte_at_a_time(plant):
    listener = plant.backend("imap")
    listener.mode = "drip"
    with dial(listener.port) as sock:
        first = sock.recv(1024)
    assert first and len(first) < len(listener.greeting()) and listener.greeting().startswith(first)


def test_drip_on_a_tls_front_speaks_inside_tls(plant, ctx):
    listener = plant.listener("ntfy")
    listener.mode = "drip"
    with tls_dial(listener.port, f"ntfy.{CD}", ctx) as sock:
        sock.sendall(f"GET /v1/health HTTP/1.1\r\nHost: ntfy.{CD}\r\n\r\n".encode())
        first = sock.recv(1024)
    assert first and b"HTTP/1.1 200".startswith(first)


def test_garbage_is_not_the_protocol(plant, ctx):
    listener = plant.listener("smtp_relay")
    listener.mode = "garbage"
    with dial(listener.port) as sock:
        line = sock.recv(1024)
    assert line.endswith(b"\n") and not line.startswith(b"220")
    plant.listener("admin_app").mode = "garbage"
    with pytest.raises(ssl.SSLError):
        tls_dial(plant.listener("admin_app").port, f"admin.{CD}", ctx)


def test_huge_banner_has_no_line_end(plant):
    listener = plant.backend("smtp_relay")
    listener.mode = "huge_banner"
    got = b""
    with dial(listener.port) as sock:
        while len(got) < 1024 * 1024:
            got += sock.recv(65536)
    assert got.startswith(b"220 ") and b"\n" not in got


def test_rst_resets_during_the_tls_handshake(plant, ctx):
    listener = plant.listener("ntfy")
    listener.mode = "rst"
    with pytest.raises((ConnectionResetError, ssl.SSLError)):
        tls_dial(listener.port, f"ntfy.{CD}", ctx)


def test_tls_stall_never_answers_the_client_hello(plant, ctx):
    listener = plant.listener("admin_app")
    listener.mode = "tls_stall"
    with pytest.raises(TimeoutError):
        tls_dial(listener.port, f"admin.{CD}", ctx, timeout=0.3)


def test_mode_applies_to_new_connections_only(plant):
    listener = plant.listener("smtp_relay")
    with dial(listener.port) as old:
        assert old.recv(1024).startswith(b"220 ")
        listener.mode = "close"
        old.sendall(b"NOOP\r\n")
        assert old.recv(1024).startswith(b"250")


# ------------------------------------------------------------------------------------ fronts without target


def test_tcp_front_with_refusing_backend_accepts_then_closes(plant):
    ep = plant.endpoint("smtp_relay")
    plant.backend(ep).mode = "refuse"
    with dial(plant.front(ep).port) as sock:
        assert sock.recv(1024) == b""


def test_tls_nlb_with_refusing_backend_handshakes_then_closes(plant, ctx):
    ep = plant.endpoint("imap")
    if plant.front(ep) is None:
        pytest.skip(f"{plant.topology.name}: IMAP has no front")
    plant.backend(ep).mode = "refuse"
    with tls_dial(plant.front(ep).port, ep.verify_name, ctx) as sock:
        assert sock.recv(1024) == b""


@pytest.mark.parametrize("probe, host, status", [("admin_app", "admin", 502), ("ntfy", "ntfy", 503)])
def test_http_fronts_answer_like_aws_when_the_origin_refuses(plant, ctx, probe, host, status):
    plant.backend(probe).mode = "refuse"
    assert https_get(plant.listener(probe).port, f"{host}.{CD}", "/", ctx)[0] == status


def test_backend_silence_shows_through_a_tls_front(plant, ctx):
    plant.backend("ntfy").mode = "silent"
    with tls_dial(plant.listener("ntfy").port, f"ntfy.{CD}", ctx, timeout=0.3) as sock:
        sock.sendall(f"GET /v1/health HTTP/1.1\r\nHost: ntfy.{CD}\r\n\r\n".encode())
        with pytest.raises(TimeoutError):
            sock.recv(1024)


# --------------------------------------------------------------------------------------------- SMTP knobs


def test_smtp_banner_code_is_settable(plant):
    ep = plant.endpoint("smtp_relay")
    plant.backend(ep).banner_code, plant.backend(ep).banner_text = 554, "Access denied"
    with pytest.raises(smtplib.SMTPConnectError) as exc:
        smtp(ep.verify_name, plant.listener(ep).port)
    assert exc.value.smtp_code == 554


def test_starttls_can_be_hidden_or_refused(plant, ctx):
    ep = ep_of(plant, "smtp+starttls://")
    backend = plant.backend(ep)
    backend.advertise_starttls = False
    client = smtp(ep.verify_name, plant.listener(ep).port)
    try:
        client.ehlo()
        assert not client.has_extn("starttls")
    finally:
        client.close()
    backend.advertise_starttls, backend.starttls_error = True, "454 4.7.0 TLS not available"
    client = smtp(ep.verify_name, plant.listener(ep).port)
    try:
        with pytest.raises(smtplib.SMTPResponseException) as exc:
            client.starttls(context=ctx)
        assert exc.value.smtp_code == 454
    finally:
        client.close()


def test_imap_starttls_can_be_refused(plant, ctx):
    plant.backend("imap").starttls_error = "NO [UNAVAILABLE] TLS not available"
    client = Imap(f"imap.{CD}", plant.backend("imap").port, timeout=TIMEOUT)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            client.starttls(ctx)
    finally:
        client.logout()


# --------------------------------------------------------------------------------------------- HTTP knobs


@pytest.mark.parametrize(
    "probe, path, status, body, expect_status, expect_in_body",
    [
        ("admin_app", "/", 403, None, 403, b"AccessDenied"),
        ("admin_app", "/", 500, None, 500, b"InternalError"),
        ("api_list", "/prod/list", 500, None, 500, b'"Error"'),
        ("ntfy", "/v1/health", 503, None, 503, b"503"),
        ("ntfy", "/v1/health", None, b"{not json", 200, b"{not json"),
        ("ntfy", "/v1/health", None, b'{"healthy":false}', 200, b'{"healthy":false}'),
    ],
    ids=["admin-403", "admin-500", "api-500", "ntfy-503", "ntfy-invalid-json", "ntfy-unhealthy"],
)
def test_http_overrides(plant, ctx, probe, path, status, body, expect_status, expect_in_body):
    backend = plant.backend(probe)
    backend.status, backend.body = status, body
    host = plant.endpoint(probe).host
    got_status, _, got_body = https_get(plant.listener(probe).port, host, path, ctx)
    assert got_status == expect_status and expect_in_body in got_body


def test_redirect_loop_points_back_at_itself(plant, ctx):
    plant.backend("admin_app").redirect_loop = True
    status, headers, _ = https_get(plant.listener("admin_app").port, f"admin.{CD}", "/", ctx)
    assert (status, headers["Location"]) == (301, f"https://admin.{CD}/")


# ------------------------------------------------------------------------------------------- certificates


def test_acm_swap_to_an_expired_cert_fails_verification(plant, pki, ctx):
    past = datetime.now(UTC) - timedelta(days=1)
    plant.serve_cert("acm", pki.issue(f"*.{CD}", issuer="acm", not_before=past - timedelta(days=90), not_after=past))
    with pytest.raises(ssl.SSLCertVerificationError) as exc:
        tls_dial(plant.listener("ntfy").port, f"ntfy.{CD}", ctx)
    assert verify_code(exc) == 10  # certificate has expired


def test_acm_swap_to_an_untrusted_or_chainless_cert_fails_verification(plant, pki, ctx):
    port = plant.listener("admin_app").port
    for cert, send_chain in ((pki.issue(f"*.{CD}", untrusted=True), True), (plant.acm_cert, False)):
        plant.serve_cert("acm", cert, send_chain=send_chain)
        with pytest.raises(ssl.SSLCertVerificationError) as exc:
            tls_dial(port, f"admin.{CD}", ctx)
        assert verify_code(exc) in (2, 20)  # unable to get (local) issuer certificate


def test_acm_swap_takes_effect_for_new_connections(plant, pki, ctx):
    fresh = pki.issue(f"*.{CD}", issuer="acm", not_after=datetime.now(UTC) + timedelta(days=5))
    plant.serve_cert("acm", fresh)
    assert plant.acm_cert is fresh
    with tls_dial(plant.listener("ntfy").port, f"ntfy.{CD}", ctx) as sock:
        assert peer_sha256(sock) == fresh.sha256


def test_le_swap_reaches_the_465_backend(plant, pki, ctx):
    fresh = pki.issue(f"*.{CD}", issuer="le")
    plant.serve_cert("le", fresh)
    ep = ep_of(plant, "smtps://")
    with tls_dial(plant.listener(ep).port, ep.verify_name, ctx) as sock:
        assert peer_sha256(sock) == fresh.sha256


def test_an_intermediate_expiring_first_is_served_and_still_verifies(plant, pki, ctx):
    soon = datetime.now(UTC) + timedelta(days=3)
    cert = pki.issue(f"*.{CD}", issuer="acm", intermediate_not_after=soon)
    plant.serve_cert("acm", cert)
    with tls_dial(plant.listener("ntfy").port, f"ntfy.{CD}", ctx) as sock:
        chain = sock._sslobj.get_unverified_chain()  # public only from Python 3.13
        ders = [c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain]
    not_afters = [x509.load_der_x509_certificate(der).not_valid_after_utc for der in ders]
    assert len(not_afters) == 2 and not_afters[1] < not_afters[0]
    assert abs(not_afters[1] - soon) < timedelta(seconds=1)


# ---------------------------------------------------------------------------------------------- lifecycle


def test_stop_ends_held_connections_and_joins_every_thread(pki):
    before = set(threading.enumerate())
    plant = WirePlant(load_topology("2026-05", CD), CD, pki)
    plant.start()
    port = plant.listener("smtp_relay").port
    plant.listener("smtp_relay").mode = "garbage"
    dripper = plant.listener(f"smtp+starttls://smtp-out.{CD}:587")
    dripper.mode = "drip"
    with dial(port) as held, dial(dripper.port) as dripping:
        # The first bytes prove a worker owns each connection (one still in the accept backlog would be reset instead).
        assert held.recv(1024).startswith(b"%") and dripping.recv(1) == b"2"
        plant.stop()
        assert drain(held) == b"" and dripper.greeting().startswith(b"2" + drain(dripping))
    assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []
    plant.stop()  # idempotent
    with pytest.raises(ConnectionRefusedError):
        dial(port)


# --------------------------------------------------------------------------------------------------- PKI


def test_issued_cert_facts(pki):
    cert = pki.issue(f"*.{CD}", CD, issuer="le", not_after=datetime.now(UTC) + timedelta(days=5))
    leaf = x509.load_pem_x509_certificate(cert.cert_pem)
    assert cert.not_after.tzinfo is not None and cert.not_after == leaf.not_valid_after_utc
    assert timedelta(days=4) < cert.not_after - datetime.now(UTC) <= timedelta(days=5)
    assert cert.sha256 == leaf.fingerprint(hashes.SHA256()).hex() and ":" not in cert.sha256
    assert cert.serial == leaf.serial_number
    assert cert.fullchain_pem == cert.cert_pem + cert.chain_pem
    issuer = x509.load_pem_x509_certificate(cert.chain_pem)
    assert leaf.issuer == issuer.subject and "Sandbox LE CA" in issuer.subject.rfc4514_string()
    root = x509.load_pem_x509_certificate(pki.ca_bundle_path.read_bytes())
    assert issuer.issuer == root.subject and "Cabal sandbox root" in root.subject.rfc4514_string()


def test_untrusted_cert_has_no_chain_and_pki_writes_only_the_bundle(pki):
    assert pki.issue(f"*.{CD}", untrusted=True).chain_pem == b""
    pki.server_context(pki.issue(f"*.{CD}"))
    assert [p.name for p in pki.workdir.iterdir()] == [pki.ca_bundle_path.name]


def test_issue_rejects_an_unknown_issuer(pki):
    with pytest.raises(ValueError):
        pki.issue(f"*.{CD}", issuer="digicert")
