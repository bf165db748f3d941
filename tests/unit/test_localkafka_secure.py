"""The secured launcher's material and broker settings (no broker started)."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.localkafka.config import NodeSpec, server_properties
from engine.localkafka.secure import (
    AUTHORIZER,
    client_env,
    create_material,
    scram_format_args,
    secure_overrides,
)


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_material_is_a_ca_signed_broker_cert_for_loopback_and_private_passwords(
    tmp_path: Path,
) -> None:
    layout = create_material(tmp_path / "sec", ["q2c-worker", "q2c-crm"])
    ca = x509.load_pem_x509_certificate(layout.ca_file.read_bytes())
    chain = x509.load_pem_x509_certificates(layout.keystore_file.read_bytes())
    broker = chain[0]
    broker.verify_directly_issued_by(ca)
    assert broker.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "q2c-broker"
    san = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    usage = broker.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usage)
    assert b"PRIVATE KEY" in layout.keystore_file.read_bytes()
    assert layout.users() == ["admin", "q2c-crm", "q2c-worker"]
    passwords = {u: layout.password(u) for u in layout.users()}
    assert len(set(passwords.values())) == 3 and all(len(p) >= 24 for p in passwords.values())
    for private in (layout.ca_key_file, layout.keystore_file, layout.password_file("admin")):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    # Created once: a second call (a restart) keeps the users' passwords and the CA.
    again = create_material(tmp_path / "sec", ["q2c-worker", "q2c-crm"])
    assert {u: again.password(u) for u in again.users()} == passwords
    assert again.ca_file.read_bytes() == layout.ca_file.read_bytes()


def test_secured_node_has_only_tls_listeners_and_denies_by_default(tmp_path: Path) -> None:
    layout = create_material(tmp_path / "sec", ["q2c-worker"])
    node = NodeSpec(1, 19092, 19093, tmp_path / "data")
    props = _props(server_properties(node, [node], secure_overrides(node, layout)))
    assert props["listeners"] == "SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SSL"
    assert "PLAINTEXT" not in props["advertised.listeners"]
    assert props["authorizer.class.name"] == AUTHORIZER
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin;User:CN=q2c-broker"
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"


def test_users_are_created_at_format_time_and_printed_settings_hold_no_secret(
    tmp_path: Path,
) -> None:
    layout = create_material(tmp_path / "sec", ["q2c-worker"])
    args = scram_format_args(layout)
    assert args == [
        f"--add-scram=SCRAM-SHA-512=[name={u},password={layout.password(u)}]"
        for u in ("admin", "q2c-worker")
    ]
    env = client_env(layout, "127.0.0.1:1", "q2c-worker")
    assert env["Q2C_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["Q2C_SASL_PASSWORD_FILE"] == str(layout.password_file("q2c-worker"))
    assert layout.password("q2c-worker") not in "".join(env.values())
