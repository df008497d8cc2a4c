"""A PostgreSQL server of the test's own, which it may stop and start at will.

Fault tests take the warehouse's server away in the middle of a load; doing that to the
machine's shared server would break every other test and user of it. So the server is
made here with `initdb` in a temporary folder, listens on 127.0.0.1 on a free port, and
is stopped and deleted afterwards. `initdb` and `postgres` refuse to run as root: as
root, they run as an unprivileged user (`postgres`, else `nobody`) who owns the folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

SUPERUSER = "postgres"
# Run as root, the server's processes belong to the first of these users that exists.
UNPRIVILEGED_USERS = ("postgres", "nobody")
COMMAND_TIMEOUT_SECONDS = 60


class PrivatePostgresUnavailable(RuntimeError):
    """The private server could not be made or started on this machine; says why."""


def _binary(name: str) -> str:
    """A PostgreSQL program from PATH or from Debian's versioned folders, newest first."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
        reverse=True,
    )
    if not candidates:
        raise PrivatePostgresUnavailable(
            f"{name} is neither on PATH nor in /usr/lib/postgresql/*/bin: install the "
            f"PostgreSQL server binaries"
        )
    return candidates[0]


def _run_as() -> list[str]:
    """The prefix that drops root to an unprivileged user; empty when not root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PrivatePostgresUnavailable("running as root, but runuser is not available")
    for user in UNPRIVILEGED_USERS:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            return [runuser, "-u", user, "--"]
    raise PrivatePostgresUnavailable(
        f"running as root, and none of the users {', '.join(UNPRIVILEGED_USERS)} exists "
        f"to run initdb and postgres as"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    """One throwaway cluster: `start`, `stop_immediately` (a crash), `url`, `remove`."""

    def __init__(self) -> None:
        self._prefix = _run_as()
        self._initdb = _binary("initdb")
        self._pg_ctl = _binary("pg_ctl")
        # Not pytest's tmp_path: it is private to root, and the server may run as another user.
        self.root = Path(tempfile.mkdtemp(prefix="ariadne-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        if self._prefix:
            user = self._prefix[2]
            entry = pwd.getpwnam(user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o700)
        try:
            self._initdb_cluster()
        except PrivatePostgresUnavailable:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _initdb_cluster(self) -> None:
        self._command(
            self._initdb,
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C",
        )

    def _command(self, *argv: str) -> None:
        try:
            subprocess.run(
                [*self._prefix, *argv],
                cwd=self.root,
                env=self._environment(),
                check=True,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_SECONDS,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
            output = getattr(error, "stderr", None) or getattr(error, "output", None) or ""
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PrivatePostgresUnavailable(
                f"{Path(argv[0]).name} failed: {error}\n{output}\n{log}".rstrip()
            ) from None

    @staticmethod
    def _environment() -> dict[str, str]:
        """The caller's PG* variables (PGHOST, PGPORT...) must not steer the private server."""
        return {k: v for k, v in os.environ.items() if not k.startswith("PG")}

    def is_running(self) -> bool:
        status = subprocess.run(
            [*self._prefix, self._pg_ctl, "-D", str(self.data), "status"],
            cwd=self.root,
            env=self._environment(),
            capture_output=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
        )
        return status.returncode == 0

    def start(self) -> None:
        """Start and wait until it accepts connections (after a crash: after recovery)."""
        options = f"-F -p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._command(
            self._pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", options, "start",
        )  # fmt: skip

    def stop_immediately(self) -> None:
        """Stop as a crash would: no checkpoint, every session cut off at once."""
        self._command(self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        """Stop if running; a server that is already down is not an error here."""
        with contextlib.suppress(PrivatePostgresUnavailable):
            self._command(self._pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new database on the private server; its URL."""
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private server, stopped and deleted on exit."""
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()
