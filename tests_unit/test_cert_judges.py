"""The cert-expiring judges, proven green and red with certificates generated here (trustme, cryptography).

The chain-and-name checks run the real wire probe against a local implicit-TLS SMTP server (465-style)
serving each certificate, so what is judged is what a client really sees.
"""

from __future__ import annotations

import base64
import json
import shlex
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cabal_checks import wire
from cabal_checks.certs import chain_facts
from cabal_checks.facts.cert_wire import served
from cabal_checks.judge import acm, cert_wire
from cabal_checks.judge import letsencrypt as le
from cabal_checks.names import DEFAULT_NAMES
from cabal_checks.shapes import CertbotActivity, Zone
from cabal_checks.topology import Endpoint
from cabal_checks.verdict import NotApplicable

CD = "cabal.example.test"
NOW = datetime.now(UTC)
PUBLIC = Endpoint(probe="submission", scheme="smtps", host=f"smtp-out.{CD}", port=465, front="nlb",
                  service="service_smtp_out", cert="letsencrypt")
PRIVATE = Endpoint(probe="imap", scheme="imap+starttls", host="imap.cabal.internal", port=143,
                   tls_name=f"imap.{CD}", internal=True, service="service_imap", cert="letsencrypt")
ADMIN = Endpoint(probe="admin_app", scheme="https", host=f"admin.{CD}", port=443, front="cloudfront", cert="acm")


# --- certificates ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root():
    return trustme.CA(organization_unit_name="Test root")


@pytest.fixture(scope="module")
def issuer(root):
    return root.create_child_ca()


def short_ca(parent: trustme.CA, not_after: datetime) -> trustme.CA:
    """An intermediate with a chosen NotAfter (trustme cannot set a CA's expiry)."""
    parent_cert = x509.load_pem_x509_certificate(parent.cert_pem.bytes())
    parent_key = serialization.load_pem_private_key(parent.private_key_pem.bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Short-lived intermediate")])
    ski = parent_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(parent_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=30)).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(parent_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return trustme.CA.from_pem(cert.public_bytes(serialization.Encoding.PEM), key_pem)


class SelfSigned:
    """A leaf that signs itself, shaped like trustme's LeafCert for the server below."""

    def __init__(self, name: str):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(NOW - timedelta(days=1))
                .not_valid_after(NOW + timedelta(days=80))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                .sign(key, hashes.SHA256()))
        self.private_key_pem = trustme.Blob(key.private_bytes(serialization.Encoding.PEM,
                                                              serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
        self.cert_chain_pems = [trustme.Blob(cert.public_bytes(serialization.Encoding.PEM))]


def issue(ca: trustme.CA, *names: str, days: float = 80, not_before: datetime | None = None) -> trustme.LeafCert:
    return ca.issue_cert(*(names or (f"*.{CD}",)), not_before=not_before or NOW - timedelta(days=10),
                         not_after=NOW + timedelta(days=days))


def pems(leaf: trustme.LeafCert, with_chain: bool = True) -> list[bytes]:
    chain = leaf.cert_chain_pems if with_chain else leaf.cert_chain_pems[:1]
    return [b.bytes() for b in chain]


def served_of(ep: Endpoint, *pem_list: bytes, verified: bool = True, error: str = "") -> cert_wire.Served:
    ders = tuple(base64.b64encode(x509.load_pem_x509_certificate(p).public_bytes(serialization.Encoding.DER)).decode()
                 for p in pem_list)
    return cert_wire.Served(ep.spec, "127.0.0.1:465", tuple(chain_facts(ders)), verified, error)


# --- a local 465-style server ----------------------------------------------------------------------


class Smtps:
    """Implicit-TLS SMTP on 127.0.0.1 serving one certificate chain, until stopped."""

    def __init__(self, leaf: trustme.LeafCert, tmp_path, with_chain: bool = True):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        path = tmp_path / "server.pem"
        path.write_bytes(leaf.private_key_pem.bytes() + b"".join(pems(leaf, with_chain)))
        self.ctx.load_cert_chain(str(path))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    with self.ctx.wrap_socket(conn, server_side=True) as tls:
                        self._talk(tls)
                except (ssl.SSLError, OSError):
                    pass

    @staticmethod
    def _talk(tls):
        tls.sendall(b"220 test ESMTP\r\n")
        for line in tls.makefile("rb"):
            if line.upper().startswith(b"EHLO"):
                tls.sendall(b"250 test\r\n")
            elif line.upper().startswith(b"QUIT"):
                tls.sendall(b"221 bye\r\n")
                return
            else:
                tls.sendall(b"502 no\r\n")

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def serve(tmp_path, root):
    """``serve(leaf, with_chain=True, ep=PUBLIC)`` -> the wire probe's Served for the endpoint."""
    servers = []
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(root.cert_pem.bytes())

    def _serve(leaf, with_chain=True, ep=PUBLIC):
        srv = Smtps(leaf, tmp_path, with_chain)
        servers.append(srv)
        spec = wire.ProbeSpec("smtps", ep.host, ep.port, "/", ep.verify_name)
        result = wire.probe(spec, 5.0, {f"{ep.host}:{ep.port}": f"127.0.0.1:{srv.port}"}, str(cafile))
        return served(result, ep)

    yield _serve
    for srv in servers:
        srv.close()


# --- days left on the wire -------------------------------------------------------------------------


@pytest.mark.parametrize("tier", [cert_wire.WARNING_DAYS, cert_wire.CRITICAL_DAYS])
def test_days_left_green_above_tier_red_below(issuer, tier):
    above = served_of(PUBLIC, *pems(issuer.issue_cert(f"*.{CD}", not_after=NOW + timedelta(days=tier, minutes=5))))
    below = served_of(PUBLIC, *pems(issuer.issue_cert(f"*.{CD}", not_after=NOW + timedelta(days=tier, minutes=-5))))
    ok = cert_wire.days_left(PUBLIC, above, NOW, tier, DEFAULT_NAMES, CD)
    bad = cert_wire.days_left(PUBLIC, below, NOW, tier, DEFAULT_NAMES, CD)
    assert ok.ok and not bad.ok
    assert cert_wire.ALERTS[tier] in bad.summary and f"< {tier}" in bad.summary
    assert bad.step == cert_wire.STEP


def test_days_left_reads_fractional_days_not_truncated(issuer):
    """NotAfter has whole seconds: "+5 days" is 4.99 days, shown as 5.0, never as 4."""
    s = served_of(PUBLIC, *pems(issue(issuer, days=5)))
    v = cert_wire.days_left(PUBLIC, s, NOW, cert_wire.CRITICAL_DAYS, DEFAULT_NAMES, CD)
    assert not v.ok and "5.0 days left" in v.summary


def test_days_left_red_names_the_pipeline_and_real_places(issuer):
    s = served_of(PUBLIC, *pems(issue(issuer, days=3)))
    v = cert_wire.days_left(PUBLIC, s, NOW, cert_wire.WARNING_DAYS, DEFAULT_NAMES, CD)
    text = v.render()
    assert "aws logs tail /cabal/lambda/certbot-renewal --since 7d" in text
    assert "aws scheduler get-schedule --name cabal-certbot-renewal" in text
    assert f"openssl s_client -connect smtp-out.{CD}:465" in text
    acm_v = cert_wire.days_left(ADMIN, served_of(ADMIN, *pems(issue(issuer, days=3))), NOW, 21, DEFAULT_NAMES, CD)
    assert f"DomainName=='*.{CD}'" in acm_v.render() and "aws acm describe-certificate" in acm_v.render()


def test_days_left_expired_leaf_says_expired(issuer):
    s = served_of(PUBLIC, *pems(issuer.issue_cert(f"*.{CD}", not_before=NOW - timedelta(days=90),
                                                  not_after=NOW - timedelta(days=2))))
    v = cert_wire.days_left(PUBLIC, s, NOW, cert_wire.CRITICAL_DAYS, DEFAULT_NAMES, CD)
    assert not v.ok and "EXPIRED 2.0 days ago" in v.summary


def test_days_left_is_judged_at_now_forecast(issuer):
    s = served_of(PUBLIC, *pems(issue(issuer, days=30)))
    assert cert_wire.days_left(PUBLIC, s, NOW, 21, DEFAULT_NAMES, CD).ok
    later = cert_wire.days_left(PUBLIC, s, NOW + timedelta(days=14), 21, DEFAULT_NAMES, CD)
    assert not later.ok and "16.0 days left" in later.summary


def test_days_left_facts_feed_the_table(issuer):
    leaf = issue(issuer, days=40)
    v = cert_wire.days_left(PUBLIC, served_of(PUBLIC, *pems(leaf)), NOW, 21, DEFAULT_NAMES, CD)
    facts = dict(v.facts)
    assert facts["cert_table"] == "warning" and facts["endpoint"] == PUBLIC.spec
    assert facts["pipeline"] == "letsencrypt" and facts["days_left"] == "40.0"
    assert facts["serial"] == format(x509.load_pem_x509_certificate(pems(leaf)[0]).serial_number, "x")


# --- earliest NotAfter in the chain ----------------------------------------------------------------


def test_chain_earliest_green_when_leaf_is_earliest(issuer):
    s = served_of(PUBLIC, *pems(issue(issuer, days=40)))
    for tier in (21, 7):
        assert cert_wire.chain_earliest(PUBLIC, s, NOW, tier, DEFAULT_NAMES, CD).ok


def test_chain_earliest_red_on_stale_intermediate(root):
    inter = short_ca(root, NOW + timedelta(days=5, hours=1))
    # the leaf outlives its intermediate on purpose: what a stale chain in SSM looks like
    leaf = inter.issue_cert(f"*.{CD}", not_after=NOW + timedelta(days=65))
    s = served_of(PUBLIC, pems(leaf)[0], inter.cert_pem.bytes())
    warn = cert_wire.chain_earliest(PUBLIC, s, NOW, 21, DEFAULT_NAMES, CD)
    crit = cert_wire.chain_earliest(PUBLIC, s, NOW, 7, DEFAULT_NAMES, CD)
    assert not warn.ok and not crit.ok
    assert "Short-lived intermediate" in crit.summary and "5.0 days left" in crit.summary
    assert "/cabal/control_domain_chain_cert" in crit.render()
    fine = served_of(PUBLIC, pems(leaf)[0], short_ca(root, NOW + timedelta(days=400)).cert_pem.bytes())
    assert cert_wire.chain_earliest(PUBLIC, fine, NOW, 21, DEFAULT_NAMES, CD).ok


# --- chain and name, over a real handshake ---------------------------------------------------------


def test_chain_verifies_green(serve, issuer):
    v = cert_wire.chain_verifies(PUBLIC, serve(issue(issuer)))
    assert v.ok, v.render()


def test_chain_verifies_private_dial_public_name(serve, issuer):
    """Dial imap.cabal.internal, verify imap.<cd>: the 2026-08 IMAP endpoint."""
    ep = Endpoint(probe="submission", scheme="smtps", host="smtp-out.cabal.internal", port=465,
                  tls_name=f"smtp-out.{CD}", internal=True, cert="letsencrypt")
    ok = cert_wire.chain_verifies(ep, serve(issue(issuer), ep=ep))
    assert ok.ok and "dialled smtp-out.cabal.internal" in ok.summary
    bad = cert_wire.chain_verifies(ep, serve(issue(issuer, "smtp-out.cabal.internal"), ep=ep))
    assert not bad.ok and f"not smtp-out.{CD}" in bad.render()


def test_chain_verifies_red_wrong_name(serve, issuer):
    v = cert_wire.chain_verifies(PUBLIC, serve(issue(issuer, "www.other.example")))
    assert not v.ok and "wrong name" in v.render() and "www.other.example" in v.render()


def test_chain_verifies_red_missing_intermediate(serve, issuer):
    v = cert_wire.chain_verifies(PUBLIC, serve(issue(issuer), with_chain=False))
    assert not v.ok and "missing intermediate" in v.render(), v.render()


def test_chain_verifies_red_untrusted_issuer(serve):
    v = cert_wire.chain_verifies(PUBLIC, serve(issue(trustme.CA(organization_unit_name="Rogue CA"))))
    assert not v.ok and "not a trusted CA" in v.render() and "Rogue CA" in v.render()


def test_chain_verifies_red_self_signed(serve):
    v = cert_wire.chain_verifies(PUBLIC, serve(SelfSigned(f"*.{CD}")))
    assert not v.ok and "self-signed" in v.render(), v.render()


def test_chain_verifies_red_expired(serve, issuer):
    v = cert_wire.chain_verifies(PUBLIC, serve(issuer.issue_cert(f"*.{CD}", not_before=NOW - timedelta(days=90),
                                                                 not_after=NOW - timedelta(days=1))))
    assert not v.ok and "expired" in v.render()


def test_served_without_chain_skips_pointing_at_the_probe_failure_runbook():
    failed = wire.ProbeResult(spec=PUBLIC.spec, ok=False, step="connect", error="refused")
    with pytest.raises(NotApplicable, match="probe-failure runbook applies"):
        served(failed, PUBLIC)
    unresolved = wire.ProbeResult(spec=PRIVATE.spec, ok=False, step="resolve", error="no such name")
    with pytest.raises(NotApplicable, match="VPC-internal"):
        served(unresolved, PRIVATE)


# --- small pure parts ------------------------------------------------------------------------------


def _zone(*caa: str) -> Zone:
    records = [{"Name": f"{CD}.", "Type": "NS", "ResourceRecords": [{"Value": "ns."}]}]
    if caa:
        records.append({"Name": f"{CD}.", "Type": "CAA", "TTL": 300, "ResourceRecords": [{"Value": v} for v in caa]})
    return Zone({"Id": "/hostedzone/Z1", "Name": f"{CD}."}, tuple(records))


def test_caa_green_without_records_red_without_issuer():
    assert acm.caa_allows_amazon(_zone(), f"*.{CD}").ok
    assert le.caa_allows_letsencrypt(_zone(), f"*.{CD}").ok
    only_le = _zone('0 issue "letsencrypt.org"')
    assert le.caa_allows_letsencrypt(only_le, f"*.{CD}").ok
    v = acm.caa_allows_amazon(only_le, f"*.{CD}")
    assert not v.ok and "amazon.com" in v.render()
    batch = json.loads(shlex.split(v.next[0].split("  #")[0])[-1])
    values = [r["Value"] for r in batch["Changes"][0]["ResourceRecordSet"]["ResourceRecords"]]
    assert values == ['0 issue "letsencrypt.org"', '0 issue "amazon.com"']


def test_caa_issuewild_governs_wildcards():
    zone = _zone('0 issue "amazon.com"', '0 issue "letsencrypt.org"', '0 issuewild "amazontrust.com"')
    assert acm.caa_allows_amazon(zone, f"*.{CD}").ok
    v = le.caa_allows_letsencrypt(zone, f"*.{CD}")
    assert not v.ok and "issuewild" in v.summary


def test_caa_allows_params_and_all_four_amazon_names():
    for name in acm.AMAZON_ISSUERS:
        assert acm.caa_allows_amazon(_zone(f'0 issue "{name}; account=1"'), f"*.{CD}").ok
    assert not acm.caa_allows_amazon(_zone('0 issue ";"'), f"*.{CD}").ok


def test_caa_critical_unknown_tag_forbids_every_ca_known_ones_and_non_critical_ones_do_not():
    zone = _zone('0 issue "amazon.com"', '0 issue "letsencrypt.org"', '128 tbs "unknown"')
    for v in (acm.caa_allows_amazon(zone, f"*.{CD}"), le.caa_allows_letsencrypt(zone, f"*.{CD}")):
        assert not v.ok and "critical record (flag 128) with an unknown tag (tbs)" in v.summary
    fine = _zone('128 ISSUE "amazon.com"', '0 issue "letsencrypt.org"', '0 tbs "unknown"', '128 iodef "mailto:x@y"')
    assert acm.caa_allows_amazon(fine, f"*.{CD}").ok and le.caa_allows_letsencrypt(fine, f"*.{CD}").ok


def test_upsert_command_is_exact_json():
    cmd = acm.upsert_cmd("Z1", [("_a.cabal.example.test.", "_b.acm-validations.aws.", 60)])
    argv = shlex.split(cmd)
    assert argv[:4] == ["aws", "route53", "change-resource-record-sets", "--hosted-zone-id"]
    rrset = json.loads(argv[-1])["Changes"][0]
    assert rrset["Action"] == "UPSERT"
    assert rrset["ResourceRecordSet"] == {"Name": "_a.cabal.example.test.", "Type": "CNAME", "TTL": 60,
                                          "ResourceRecords": [{"Value": "_b.acm-validations.aws."}]}


def test_schedule_period_parsing():
    assert le.period_of("rate(60 days)") == timedelta(days=60)
    assert le.period_of("rate(1 day)") == timedelta(days=1)
    assert le.period_of("rate(12 hours)") == timedelta(hours=12)
    assert le.period_of("cron(0 3 1 */2 ? *)") is None


def test_rate_limit_signatures_and_a_lookalike():
    def activity(msg):
        ts = int((NOW - timedelta(days=1)).timestamp() * 1000)
        return CertbotActivity("/g", rate_limits=({"timestamp": ts, "message": msg},))

    for msg in ("urn:ietf:params:acme:error:rateLimited", "HTTP 429 from the ACME server",
                "too many certificates (5) already issued for this exact set of identifiers"):
        assert not le.not_rate_limited(activity(msg), NOW, DEFAULT_NAMES).ok, msg
    assert le.not_rate_limited(activity("request took 4290 ms"), NOW, DEFAULT_NAMES).ok
    old = CertbotActivity("/g", rate_limits=({"timestamp": int((NOW - timedelta(days=8)).timestamp() * 1000),
                                              "message": "rateLimited"},))
    assert le.not_rate_limited(old, NOW, DEFAULT_NAMES).ok


# --- the certificate table -------------------------------------------------------------------------


def test_cert_table_title_says_forecast_only_for_a_future_now():
    from fixtures import cert_table

    assert cert_table.title(NOW, False, NOW).startswith("certificates on the wire")
    assert "FORECAST" in cert_table.title(NOW + timedelta(days=14), True, NOW)
    assert "in the past" in cert_table.title(NOW - timedelta(days=3), True, NOW)


def test_cert_table_rows_and_verdicts():
    from fixtures import cert_table

    assert cert_table.verdict_of({"warning": "green", "critical": "green"}) == "ok"
    assert cert_table.verdict_of({"warning": "red", "critical": "green"}) == "WARNING (<21 d)"
    assert cert_table.verdict_of({"warning": "red", "critical": "red"}) == "CRITICAL (<7 d)"
    assert cert_table.verdict_of({"critical": "red"}, "-2.0") == "EXPIRED"
    assert cert_table.verdict_of({"critical": "can't tell"}) == "can't tell"
    lines = cert_table.render({PUBLIC.spec: {"endpoint": PUBLIC.spec, "pipeline": "letsencrypt", "serial": "ab",
                                             "not_after": "2026-12-01 00:00Z", "days": "8.0",
                                             "tiers": {"warning": "red", "critical": "green"}}})
    assert lines[0].split() == ["endpoint", "pipeline", "serial", "NotAfter", "days", "left", "verdict"]
    assert lines[1].split()[:3] == [PUBLIC.spec, "letsencrypt", "ab"] and lines[1].endswith("WARNING (<21 d)")
