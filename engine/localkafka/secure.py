"""A secured local broker: its CA, broker certificate, SCRAM users and listener settings.

TLS on every listener (clients: SASL_SSL with SCRAM-SHA-512; controllers: mutual TLS with
the broker certificate), the KRaft StandardAuthorizer denying whatever no ACL allows, and one
super user, the launcher's `admin`. Material lives under `<cluster dir>/security/`, private
files mode 0600; it is created once and reused, so a restarted broker keeps its users.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.localkafka.config import NodeSpec
from engine.security.principals import LAUNCHER_USER

MECHANISM = "SCRAM-SHA-512"
BROKER_CN = "q2c-broker"
CERT_DAYS = 365
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@dataclass(frozen=True)
class SecureLayout:
    """Where a secured cluster's TLS material and user passwords are kept."""

    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key_file(self) -> Path:
        return self.directory / "ca-key.pem"

    @property
    def keystore_file(self) -> Path:
        """The broker's PEM keystore: private key (PKCS#8) then its certificate chain."""
        return self.directory / "broker-keystore.pem"

    def password_file(self, user: str) -> Path:
        return self.directory / "users" / f"{user}.password"

    def password(self, user: str) -> str:
        return self.password_file(user).read_text(encoding="utf-8").strip()

    def users(self) -> list[str]:
        return sorted(p.stem for p in (self.directory / "users").glob("*.password"))


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pkcs8(key: rsa.RSAPrivateKey) -> bytes:
    # Unencrypted PKCS#8: the format Kafka's PEM keystore reads without a key password; the
    # file itself is readable by its owner only.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "q2c local"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _create_tls(layout: SecureLayout) -> None:
    now = dt.datetime.now(dt.UTC)
    ca_key = _key()
    ca_name = _name("q2c local CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = _key()
    broker = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, BROKER_CN)]))
        .issuer_name(ca_name)
        .public_key(broker_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        # Server for clients, client for the controller listener's mutual TLS.
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write_private(layout.ca_key_file, _pkcs8(ca_key))
    layout.ca_file.write_bytes(ca.public_bytes(pem))
    _write_private(
        layout.keystore_file, _pkcs8(broker_key) + broker.public_bytes(pem) + ca.public_bytes(pem)
    )


def create_material(directory: Path, users: list[str]) -> SecureLayout:
    """CA, broker keystore and a random password per user (plus `admin`); existing ones kept."""
    layout = SecureLayout(directory)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    if not (layout.ca_file.exists() and layout.keystore_file.exists()):
        _create_tls(layout)
    for user in [LAUNCHER_USER, *users]:
        path = layout.password_file(user)
        if not path.exists():
            _write_private(path, secrets.token_urlsafe(24).encode())
    return layout


def _jaas(user: str, password: str) -> str:
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{user}" password="{password}";'
    )


def secure_overrides(node: NodeSpec, layout: SecureLayout) -> dict[str, str]:
    """server.properties entries that secure `node` (merged over the plain ones)."""
    return {
        "listeners": (
            f"SASL_SSL://127.0.0.1:{node.broker_port},CONTROLLER://127.0.0.1:{node.controller_port}"
        ),
        "advertised.listeners": f"SASL_SSL://127.0.0.1:{node.broker_port}",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": _jaas(
            LAUNCHER_USER, layout.password(LAUNCHER_USER)
        ),
        # SCRAM credentials live in the metadata log, which controllers cannot use to
        # authenticate each other: they use the broker certificate, required both ways.
        "listener.name.controller.ssl.client.auth": "required",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(layout.keystore_file),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(layout.ca_file),
        "ssl.endpoint.identification.algorithm": "https",
        "authorizer.class.name": AUTHORIZER,
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{LAUNCHER_USER};User:CN={BROKER_CN}",
    }


def scram_format_args(layout: SecureLayout) -> list[str]:
    """`kafka-storage format` arguments creating every user before the first start (KRaft)."""
    return [
        f"--add-scram={MECHANISM}=[name={user},password={layout.password(user)}]"
        for user in layout.users()
    ]


def client_env(layout: SecureLayout, bootstrap: str, user: str) -> dict[str, str]:
    """The Q2C_* settings a q2c component uses to connect as `user` (no secret inline)."""
    return {
        "Q2C_BOOTSTRAP_SERVERS": bootstrap,
        "Q2C_SECURITY_PROTOCOL": "SASL_SSL",
        "Q2C_SSL_CAFILE": str(layout.ca_file),
        "Q2C_SASL_MECHANISM": MECHANISM,
        "Q2C_SASL_USERNAME": user,
        "Q2C_SASL_PASSWORD_FILE": str(layout.password_file(user)),
    }


def launcher_options(layout: SecureLayout) -> dict[str, Any]:
    """aiokafka options for the launcher's own super user (readiness probe, ACL bootstrap)."""
    return {
        "security_protocol": "SASL_SSL",
        "ssl_context": ssl.create_default_context(cafile=str(layout.ca_file)),
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": LAUNCHER_USER,
        "sasl_plain_password": layout.password(LAUNCHER_USER),
    }
