"""A throwaway PostgreSQL cluster in a temp dir, with password auth over TCP.

Used by the tests, ``scripts/run_local.py`` and the benchmark. The server
refuses to run as root, so when we are root every server command runs as the
``postgres`` user on a directory it owns.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg


def find_bindir() -> Path | None:
    """Directory with initdb/pg_ctl, newest major version first."""
    env = os.environ.get("PG_BINDIR")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
        reverse=True,
    )
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalPostgres:
    """initdb + pg_ctl wrapper. ``start()`` creates an app role and database."""

    superuser = "postgres"

    def __init__(
        self,
        *,
        app_user: str = "catalog",
        app_password: str | None = None,
        dbname: str = "catalog",
        port: int | None = None,
        listen_addresses: str | None = None,
        extra_hba: tuple[str, ...] = (),
        tls_hosts: tuple[str, ...] = (),
    ) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(
                "PostgreSQL server binaries not found (apt-get install postgresql, "
                "or set PG_BINDIR)"
            )
        self.bindir = bindir
        self.app_user = app_user
        self.app_password = app_password or secrets.token_urlsafe(16)
        self.super_password = secrets.token_urlsafe(16)
        self.dbname = dbname
        self.port = port or free_port()
        self.host = "127.0.0.1"
        # Containers on a bridge network reach the server on the host's bridge
        # address: listen there too ("*") and allow their subnet in extra_hba.
        self.listen_addresses = listen_addresses or self.host
        self.extra_hba = extra_hba
        # With host names, the server also speaks TLS, with a certificate for them signed by a
        # throwaway CA (``ca_file``, what a client verifies against); ``hostssl`` lines in
        # extra_hba then refuse plain TCP.
        self.tls_hosts = tls_hosts
        self._as_postgres = os.geteuid() == 0
        # As root the server runs as ``postgres``, which must be able to reach
        # the directory: a private TMPDIR (0700) would not do, /tmp does.
        base = os.environ.get("CATALOG_PG_TMPDIR") or ("/tmp" if self._as_postgres else None)  # noqa: S108 - mkdtemp below
        self.root = Path(tempfile.mkdtemp(prefix="catalog-pg-", dir=base))
        self.datadir = self.root / "data"
        self.sockdir = self.root / "sock"
        self.logfile = self.root / "server.log"
        self.ca_file = self.root / "tls" / "ca.pem"
        self._initialised = False

    # -- process helpers ------------------------------------------------------
    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{log[-2000:]}"
            )

    def _init(self) -> None:
        self.sockdir.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.super_password)
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            for p in (self.sockdir, pwfile):
                shutil.chown(p, "postgres", "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.datadir),
            "-U", self.superuser,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        if self.tls_hosts:
            self._write_certificates()
        if self.extra_hba:
            with (self.datadir / "pg_hba.conf").open("a") as hba:
                hba.write("".join(f"{line}\n" for line in self.extra_hba))
        self._initialised = True

    def _write_certificates(self) -> None:
        """A throwaway CA and a server certificate it signs for ``tls_hosts`` (names, addresses)."""
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        def name(text: str) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

        def builder(subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> Any:
            now = datetime.datetime.now(datetime.UTC)
            return x509.CertificateBuilder(
                subject_name=name(subject),
                issuer_name=issuer,
                public_key=key.public_key(),
                serial_number=x509.random_serial_number(),
                not_valid_before=now - datetime.timedelta(minutes=5),
                not_valid_after=now + datetime.timedelta(days=1),
            )

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = name("catalog throwaway test CA")
        ca = (
            builder("catalog throwaway test CA", ca_name, ca_key)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        sans: list[x509.GeneralName] = []
        for host in self.tls_hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            builder(self.tls_hosts[0], ca_name, key)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        tls = self.ca_file.parent
        tls.mkdir()
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        (tls / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        server_key = tls / "server.key"
        server_key.touch(mode=0o600)
        server_key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        if self._as_postgres:
            for path in (tls, *tls.iterdir()):
                shutil.chown(path, "postgres", "postgres")

    def start(self) -> LocalPostgres:
        """Start the server (initialising it the first time) and wait until it answers."""
        first = not self._initialised
        if first:
            self._init()
        opts = (
            f"-p {self.port} -k {self.sockdir} -c listen_addresses='{self.listen_addresses}' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        if self.tls_hosts:
            tls = self.ca_file.parent
            opts += (
                f" -c ssl=on -c ssl_cert_file={tls / 'server.crt'}"
                f" -c ssl_key_file={tls / 'server.key'}"
            )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile),
            "-o", opts, "-w", "-t", "30", "start",
        )  # fmt: skip
        if first:
            self._create_app_role()
        return self

    def stop(self) -> None:
        if self.datadir.exists():
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"
            )

    def is_running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()

    def cleanup(self) -> None:
        """Stop the server (if running) and remove every file it created."""
        try:
            if self.is_running():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- SQL helpers ----------------------------------------------------------
    def superuser_conn(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.superuser,
            password=self.super_password,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def _create_app_role(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                conn = self.superuser_conn()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with conn:
            conn.execute(
                psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    psycopg.sql.Identifier(self.app_user), psycopg.sql.Literal(self.app_password)
                )
            )
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    psycopg.sql.Identifier(self.dbname), psycopg.sql.Identifier(self.app_user)
                )
            )

    def set_app_password(self, password: str) -> None:
        with self.superuser_conn() as conn:
            conn.execute(
                psycopg.sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    psycopg.sql.Identifier(self.app_user), psycopg.sql.Literal(password)
                )
            )
        self.app_password = password

    def terminate_app_connections(self) -> int:
        with self.superuser_conn() as conn:
            row = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = %s",
                (self.app_user,),
            ).fetchone()
        return int(str(row[0])) if row else 0

    def env(self) -> dict[str, str]:
        """Environment variables that point the service at this cluster."""
        return {
            "DB_WRITER_HOST": self.host,
            "DB_READER_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_NAME": self.dbname,
            "DB_USER": self.app_user,
            "DB_PASSWORD": self.app_password,
            "DB_SSLMODE": "disable",
        }
