"""A private PostgreSQL that serves TLS as Supabase does, with a certificate authority of its
own: the test makes a CA and a server certificate with openssl (the certificate names the host
``localhost`` in its subjectAltName, nothing else), starts the test server's major on a private
port with ``ssl = on`` and refuses every connection that is not TLS (``hostnossl ... reject``,
Supabase's "Enforce SSL on incoming connections": https://supabase.com/docs/guides/platform/ssl-enforcement).

    with TlsServer() as server:
        url = server.url("postgres", "mockbook")   # sslmode=verify-full, sslrootcert=<its CA>

``server.other_ca`` is a CA that did not sign the server's certificate (a wrong
``sslrootcert``). As root the server runs as the user ``postgres``. ``tests/pooler_tools.py``
(`make test`) installs openssl when it is missing.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from conftest import url_for
from pooler_fixtures import free_port, postgresql_url
from pooler_tools import which

HOST = "localhost"  # the only name the server's certificate carries


def _bindir() -> Path:
    """The test server's major's binaries (initdb, pg_ctl) on this machine."""
    with psycopg.connect(url_for("postgres"), connect_timeout=10) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    for candidate in (Path(f"/usr/lib/postgresql/{major}/bin"),):
        if (candidate / "initdb").exists():
            return candidate
    done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                          check=False)
    if done.returncode == 0 and (Path(done.stdout.strip()) / "initdb").exists():
        return Path(done.stdout.strip())
    raise RuntimeError(f"no initdb of PostgreSQL {major} on this machine (the TLS test starts "
                       f"a server of its own): install postgresql-{major}")


def _openssl(*args: str, cwd: Path) -> None:
    openssl = which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is not installed: `make pooler-tools` installs it")
    subprocess.run([openssl, *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> None:
    """``<name>.key`` and ``<name>.crt``: a self-signed CA."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN=mockbook test {name}", "-keyout", f"{name}.key",
             "-out", f"{name}.crt", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)


def make_server_cert(folder: Path, ca: str) -> None:
    """``server.key`` and ``server.crt`` signed by ``ca``, for the name HOST only."""
    (folder / "server.ext").write_text(
        f"subjectAltName = DNS:{HOST}\nbasicConstraints = CA:FALSE\n"
        "keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={HOST}",
             "-keyout", "server.key", "-out", "server.csr", cwd=folder)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.crt",
             cwd=folder)


class TlsServer:
    """A PostgreSQL cluster of its own (initdb into a temporary folder) on a private port,
    TLS only, its CA's certificate in ``ca``."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mockbook-tls-"))
        self.dir.chmod(0o755)
        self.data = self.dir / "data"
        self.certs = self.dir / "certs"
        self.certs.mkdir()
        self.ca = self.certs / "ca.crt"
        self.other_ca = self.certs / "other.crt"
        self.port = 0
        self.bindir = _bindir()
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *command: str) -> None:
        """A server binary, as the user ``postgres`` when we are root (PostgreSQL refuses
        root)."""
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}"
                               f"{self._log()}")

    def _log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "server.log").read_text()[-3000:]
        return ""

    def start(self) -> TlsServer:
        make_ca(self.certs, "ca")
        make_ca(self.certs, "other")
        make_server_cert(self.certs, "ca")
        if self.user:
            owner = pwd.getpwnam(self.user)
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8")
        for name in ("server.crt", "server.key"):
            shutil.copy(self.certs / name, self.data / name)
            (self.data / name).chmod(0o600)
            if self.user:
                os.chown(self.data / name, owner.pw_uid, owner.pw_gid)
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n"
            "hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\n")
        for _ in range(5):  # a port taken between the check and the server's bind: another
            self.port = free_port()
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                           f"unix_socket_directories = '{self.dir}'\nssl = on\n"
                           "fsync = off\nmax_connections = 60\n")
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                          str(self.dir / "server.log"), "-w", "-t", "120", "start")
                return self
            except RuntimeError:
                if "could not bind" not in self._log() and "in use" not in self._log():
                    raise
        raise RuntimeError(f"the TLS server did not start: {self._log()}")

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> TlsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, user: str, dbname: str, *, host: str = HOST, ca: Path | None = None,
            sslmode: str = "verify-full") -> str:
        """A postgresql:// URL of ``dbname`` as ``user`` over TLS, checking the server against
        ``ca`` (default: its own CA) and the name ``host``."""
        return postgresql_url(f"postgresql://{user}@{host}/{dbname}", host=host, port=self.port,
                              sslmode=sslmode, sslrootcert=str(ca or self.ca))
