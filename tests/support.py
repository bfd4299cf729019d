"""Helpers for tests: real CLI subprocesses, real servers, real databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TypedDict

import httpx
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get(
    "PARLEY_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PARLEY = [sys.executable, "-m", "parley.cli"]
# How long a started server may take to answer: several start at once on two cores.
START_S = 90
OFFICER_PASSWORD = "correct-horse-battery"


def pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update({"PARLEY_HOME": str(home), "COLUMNS": "200"}, **extra)
    return env


def run_cli(
    *args: str, home: Path, check: bool = True, input_text: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the real ``parley`` command in a subprocess."""
    result = subprocess.run(
        [*PARLEY, *args],
        env=cli_env(home, **env),
        capture_output=True,
        text=True,
        timeout=120,
        input=input_text,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"parley {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


class OfficerEnv(TypedDict):
    """The environment that logs a CLI command in as an officer."""

    PARLEY_USER: str
    PARLEY_PASSWORD: str


def officer_env(name: str = "admin") -> OfficerEnv:
    return {"PARLEY_USER": name, "PARLEY_PASSWORD": OFFICER_PASSWORD}


def officer_vars(name: str = "admin") -> dict[str, str]:
    """``officer_env`` as plain variables, to merge into a whole environment mapping."""
    env = officer_env(name)
    return {"PARLEY_USER": env["PARLEY_USER"], "PARLEY_PASSWORD": env["PARLEY_PASSWORD"]}


def init_node(
    home: Path,
    party: str = "JP",
    *,
    database: str | None = None,
    network: str = "parley-test",
    name: str | None = None,
) -> Path:
    """``parley init`` plus an admin officer, through the real CLI; ``name``: the party's name."""
    args = [
        "init",
        str(home),
        "--party",
        party,
        "--name",
        name or f"{party} crisis centre",
        "--network",
        network,
    ]
    if database:
        args += ["--database", database]
    run_cli(*args, home=home)
    run_cli(
        "user", "add", "admin", "--role", "admin", home=home, PARLEY_NEW_PASSWORD=OFFICER_PASSWORD
    )
    return home


def stop_process(process: subprocess.Popen[str], grace_s: float = 10) -> None:
    """SIGTERM, then SIGKILL if the process has not ended within ``grace_s`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A real ``parley serve`` process on 127.0.0.1."""

    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*PARLEY, "serve", "--port", str(self.port)],
            env=cli_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.process.stdout.read()}")  # type: ignore[union-attr]
            try:
                httpx.get(self.url + "/fed/v1/get-sth", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server did not start within {START_S} s")

    def stop(self) -> None:
        stop_process(self.process)
