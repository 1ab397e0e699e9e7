"""Self-signed certificates for loopback TLS servers, made with the `openssl` command."""

from __future__ import annotations

import subprocess
from pathlib import Path


def self_signed(folder: Path, names: str = "IP:127.0.0.1") -> tuple[Path, Path]:
    """`folder`/cert.pem and key.pem for the subjectAltName `names` (an EC key: instant to
    make). A client trusts it only when told to (a cafile, SSL_CERT_FILE)."""
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    common_name = names.split(",")[0].split(":", 1)[1]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "2", "-subj", f"/CN={common_name}", "-addext"]
        + [f"subjectAltName={names}", "-keyout", str(key_path), "-out", str(cert_path)],
        check=True,
        capture_output=True,
    )
    return cert_path, key_path
