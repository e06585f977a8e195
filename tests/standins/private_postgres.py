"""A PostgreSQL server of the test's own (initdb in a temporary directory, a free port,
its socket in that directory), so a test may stop and restart it without touching the
shared server on 5432. Runs as the `postgres` user when the test runs as root."""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    def __init__(self) -> None:
        self.bin = _binaries()
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
        self.data = self.dir / "data"

    def why_unavailable(self) -> str | None:
        if self.bin is None:
            return "no /usr/lib/postgresql/*/bin/pg_ctl here"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser to become postgres"
        return None

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        assert self.bin is not None
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=True)  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> "PrivatePostgres":
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self.start()

    def start(self) -> "PrivatePostgres":
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"),
                  "-w", "start")  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def running_private_postgres() -> Iterator[PrivatePostgres]:
    """Body of a fixture: a started private server, destroyed afterwards; the test is
    skipped, saying why, where one cannot be started here."""
    server = PrivatePostgres()
    if reason := server.why_unavailable():
        pytest.skip(f"no private PostgreSQL: {reason}")
    try:
        server.init()
    except Exception as exc:  # noqa: BLE001 - say why and skip
        server.destroy()
        pytest.skip(f"a private PostgreSQL could not be started: {exc}")
    yield server
    server.destroy()
