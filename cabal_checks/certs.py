"""Certificate facts from DER or PEM: names, serial, validity, fingerprint, days left at a given instant."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class CertFacts:
    subject: str
    issuer: str
    names: tuple[str, ...]
    serial: str  # hex, as AWS and openssl show it
    not_before: datetime
    not_after: datetime
    sha256: str  # hex fingerprint of the DER

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400

    def covers(self, name: str) -> bool:
        name = name.lower().rstrip(".")
        for n in self.names:
            n = n.lower()
            if n == name or (n.startswith("*.") and name.count(".") == n.count(".") and name.endswith(n[1:])):
                return True
        return False

    def short(self) -> str:
        return f"{self.subject} serial {self.serial} NotAfter {self.not_after:%Y-%m-%d %H:%M}Z sha256 {self.sha256[:16]}"


def facts_of(cert: x509.Certificate) -> CertFacts:
    try:
        sans = tuple(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                     .value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        sans = ()
    cns = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) if isinstance(a.value, str)]
    return CertFacts(
        subject=cns[0] if cns else cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        names=sans or tuple(cns),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256=hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
    )


def chain_facts(chain_b64: tuple[str, ...]) -> list[CertFacts]:
    """Facts of a chain as the wire probe returns it (base64 DER, leaf first)."""
    return [facts_of(x509.load_der_x509_certificate(base64.b64decode(c))) for c in chain_b64]


def pem_facts(pem: str | bytes) -> list[CertFacts]:
    """Facts of every certificate in a PEM bundle; raises ValueError if there is none."""
    data = pem.encode() if isinstance(pem, str) else pem
    return [facts_of(c) for c in x509.load_pem_x509_certificates(data)]


@dataclass(frozen=True)
class Served:
    """The chain an endpoint presented, parsed (leaf first), and whether it verified for the public name."""

    spec: str
    address: str
    chain: tuple[CertFacts, ...]
    verified: bool
    verify_error: str

    @property
    def leaf(self) -> CertFacts:
        return self.chain[0]
