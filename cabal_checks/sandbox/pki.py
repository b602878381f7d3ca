"""The sandbox PKI: a trusted root, two issuing intermediates (ACM and Let's Encrypt stand-ins), an untrusted root.

Built on trustme. Leaves get realistic lifetimes by default (ACM 395 days, Let's Encrypt 90 days). Only the
root's PEM and short-lived key files are written, and only under ``workdir``.
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

ORG = "Cabal sandbox"
ROOT_NAME = "Cabal sandbox root"
ISSUER_NAMES = {"acm": "Sandbox ACM CA", "le": "Sandbox LE CA"}
DEFAULT_LIFETIME = {"acm": timedelta(days=395), "le": timedelta(days=90)}
UNTRUSTED_NAME = "Untrusted sandbox root"


@dataclass(frozen=True)
class IssuedCert:
    """One issued leaf with its chain and key (sandbox-only material)."""

    cert_pem: bytes  # the leaf only
    chain_pem: bytes  # the intermediate(s) only; b"" when issued straight from a root
    key_pem: bytes
    serial: int
    not_after: datetime  # tz-aware UTC, whole seconds
    sha256: str  # hex of the leaf DER, lowercase, no colons

    @property
    def fullchain_pem(self) -> bytes:
        return self.cert_pem + self.chain_pem


class SandboxPKI:
    """Issue sandbox certificates and build server contexts that serve them."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.root = trustme.CA(organization_name=ORG, organization_unit_name=ROOT_NAME)
        # What create_child_ca() does, plus a readable name (create_child_ca() cannot name the child).
        self.issuers = {
            key: trustme.CA(parent_cert=self.root, path_length=0, organization_name=ORG, organization_unit_name=name)
            for key, name in ISSUER_NAMES.items()
        }
        self.untrusted_root = trustme.CA(organization_name="Untrusted sandbox", organization_unit_name=UNTRUSTED_NAME)
        self.ca_bundle_path = self.workdir / "sandbox-ca-bundle.pem"
        self.ca_bundle_path.write_bytes(self.root.cert_pem.bytes())

    def issue(
        self,
        *names: str,
        issuer: str = "acm",
        not_after: datetime | None = None,
        not_before: datetime | None = None,
        untrusted: bool = False,
        intermediate_not_after: datetime | None = None,
    ) -> IssuedCert:
        """Issue a leaf for ``names`` (the first is also the CN).

        ``issuer``: ``acm`` or ``le``. ``untrusted``: sign straight from a root the bundle does not hold.
        ``intermediate_not_after``: sign from a fresh intermediate (same name as ``issuer``'s) that expires then.
        """
        if issuer not in ISSUER_NAMES:
            raise ValueError(f"issuer must be one of {', '.join(ISSUER_NAMES)}, not {issuer!r}")
        if not names:
            raise ValueError("issue() needs at least one name")
        now = datetime.now(UTC)
        not_before = not_before or now - timedelta(days=1)
        not_after = not_after or now + DEFAULT_LIFETIME[issuer]
        if untrusted:
            ca, chain = self.untrusted_root, b""
        elif intermediate_not_after is not None:
            ca, chain = self._short_intermediate(issuer, intermediate_not_after)
        else:
            ca, chain = self.issuers[issuer], self.issuers[issuer].cert_pem.bytes()
        leaf = ca.issue_cert(*names, common_name=names[0], not_before=not_before, not_after=not_after)
        return _issued(leaf.cert_chain_pems[0].bytes(), chain, leaf.private_key_pem.bytes())

    def server_context(self, cert: IssuedCert, send_chain: bool = True) -> ssl.SSLContext:
        """A TLS server context serving ``cert``; ``send_chain=False`` leaves out the intermediate."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        pem = cert.key_pem + (cert.fullchain_pem if send_chain else cert.cert_pem)
        with tempfile.NamedTemporaryFile(dir=self.workdir, prefix="key-", suffix=".pem") as f:
            f.write(pem)
            f.flush()
            ctx.load_cert_chain(f.name)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only the sandbox root."""
        return ssl.create_default_context(cafile=str(self.ca_bundle_path))

    def _short_intermediate(self, issuer: str, not_after: datetime) -> tuple[trustme.CA, bytes]:
        """An intermediate under the trusted root with a chosen expiry (trustme cannot set a CA's expiry)."""
        root_cert = x509.load_pem_x509_certificate(self.root.cert_pem.bytes())
        root_key = serialization.load_pem_private_key(self.root.private_key_pem.bytes(), password=None)
        if not isinstance(root_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):  # trustme's key types
            raise TypeError(f"the sandbox root's key cannot sign certificates: {type(root_key).__name__}")
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ISSUER_NAMES[issuer]),
        ])
        not_before = min(datetime.now(UTC) - timedelta(days=30), not_after - timedelta(days=1))
        root_ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(root_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        return trustme.CA.from_pem(cert_pem, key_pem), cert_pem


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
    )


def _issued(cert_pem: bytes, chain_pem: bytes, key_pem: bytes) -> IssuedCert:
    cert = x509.load_pem_x509_certificate(cert_pem)
    return IssuedCert(
        cert_pem=cert_pem,
        chain_pem=chain_pem,
        key_pem=key_pem,
        serial=cert.serial_number,
        not_after=cert.not_valid_after_utc,
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )
