"""``parley serve`` raises its own limit on open files to what its connection bound needs."""

from __future__ import annotations

import resource
import subprocess
import sys

from parley.api.server import FILE_HEADROOM, MAX_CONNECTIONS

PROBE = (
    "import logging, resource; logging.basicConfig(level=logging.INFO);"
    "from parley.api.server import ensure_file_limit;"
    "print(ensure_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
)


def probe(soft: int, hard: int) -> tuple[list[int], str]:
    """Run ``ensure_file_limit`` in a process started with these limits."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", PROBE],
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)),  # noqa: PLW1509
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [int(word) for word in done.stdout.split()], done.stderr


def test_a_low_soft_limit_is_raised_to_what_the_connection_bound_needs() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    wanted = MAX_CONNECTIONS + FILE_HEADROOM
    assert hard == resource.RLIM_INFINITY or hard >= wanted, "this machine's hard limit is low"
    (returned, in_force), said = probe(256, hard)
    assert returned == in_force == wanted
    assert f"from 256 to {wanted}" in said


def test_a_hard_limit_below_the_need_is_used_whole_and_named() -> None:
    (returned, in_force), said = probe(256, 1024)
    assert returned == in_force == 1024
    assert "hard limit" in said and "LimitNOFILE" in said
