"""The ``parley`` command: a thin layer over the node library (docs/cli.md lists the contract)."""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from parley.cli import (
    assistance_cmds,  # noqa: I001 - its own line, for merges
    category_cmds,
    deadline_cmds,
    demo_cmds,
    evidence_cmds,
    hotline_cmds,
    inbox_cmds,
    key_cmds,
    log_cmds,
    notify_cmds,
    peer_cmds,
    policy_cmds,
    release_cmds,
    restore_cmds,
    roadmap_cmds,
    user_cmds,
    verify_cmds,
    witness_cmds,
)
from parley.cli.common import (
    HomeOption,
    JsonOption,
    open_node,
    out,
    passphrase_source,
    print_json,
    reports_errors,
)
from parley.core.checkpoint import cosigner_vkey, vkey, witness_name_for
from parley.core.errors import ParleyError
from parley.core.keys import PURPOSES, fingerprint
from parley.node.federation import tlspin
from parley.node.node import DEFAULT_NETWORK, Node

app = typer.Typer(
    name="parley",
    help="Parley: a federated, verifiable notification and crisis-communication network.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(log_cmds.app, name="log")
app.add_typer(verify_cmds.app, name="verify")
app.add_typer(evidence_cmds.app, name="evidence")
app.add_typer(policy_cmds.app, name="policy")
app.add_typer(user_cmds.app, name="user")
app.add_typer(witness_cmds.app, name="witness")
app.add_typer(key_cmds.app, name="key")
demo_cmds.register(app)
deadline_cmds.register(app)
peer_cmds.register(app)
notify_cmds.register(app)
release_cmds.register(app)
hotline_cmds.register(app)
inbox_cmds.register(app)
restore_cmds.register(app)
node_app = typer.Typer(help="This node's identity and state.", no_args_is_help=True)
app.add_typer(node_app, name="node")
category_cmds.register(app)
assistance_cmds.register(app)
roadmap_cmds.register(app)


@app.command()
@reports_errors
def init(
    directory: Annotated[Path, typer.Argument(help="New node home folder.")],
    party: Annotated[str, typer.Option(help="Party code, e.g. JP.")],
    name: Annotated[str, typer.Option(help="Name of the party's crisis centre.")],
    network: Annotated[str, typer.Option(help="Network id.")] = DEFAULT_NETWORK,
    database: Annotated[
        str | None, typer.Option(help="Database URL (default: SQLite in the home).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port for 'parley serve'.")] = None,
    passphrase: Annotated[
        bool, typer.Option("--passphrase", help="Encrypt key files (PARLEY_PASSPHRASE or prompt).")
    ] = False,
    url: Annotated[
        list[str] | None,
        typer.Option(
            "--url",
            help="A public URL of this node, as peers reach it; repeat "
            "(default https://127.0.0.1:PORT).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a node home: configuration, keys, database, key statement and policy."""
    secret = None
    if passphrase:
        text = os.environ.get("PARLEY_PASSPHRASE")
        if text is None:
            text = typer.prompt("Key passphrase", hide_input=True, confirmation_prompt=True)
        secret = text.encode()
    node = Node.create(
        directory,
        party=party,
        name=name,
        network=network,
        database=database,
        passphrase=secret,
        port=port,
        urls=url or (),
    )
    identity = node.context().statement.identity
    out.print(f"Created node {party} in {node.home.path} on network {network}")
    out.print(f"identity key {identity.b64}")
    out.print(f"fingerprint  {fingerprint(identity.raw)}")
    out.print(
        f"urls         {', '.join(node.config.urls)} ([server] url in parley.toml)", markup=False
    )
    out.print(
        f"Move {node.home.next_identity_path} offline: it is the next identity key "
        "(needed for 'parley key rotate')."
    )


@node_app.command("info")
@reports_errors
def node_info(
    home: HomeOption,
    as_json: JsonOption = False,
) -> None:
    """Show the node's party, keys, fingerprints and log size, for out-of-band comparison."""
    node = open_node(home)
    context = node.context()
    statement = context.statement
    info = {
        "party": node.party,
        "name": node.config.name,
        "network": node.network,
        "identity": statement.identity.b64,
        "identity_kid": statement.identity.kid,
        "fingerprint": fingerprint(statement.identity.raw),
        "keys": {p: k.b64 for p, k in statement.purposes.items()},
        "origin": node.log.origin,
        "log_vkey": vkey(node.log.origin, statement.purposes["log"].raw),
        "witness_vkey": cosigner_vkey(
            witness_name_for(node.log.origin), statement.purposes["witness"].raw
        ),
        "policy": context.policy.hash,
        "size": node.size(),
        "url": f"http://{node.config.host}:{node.config.port}",
        "urls": list(node.config.urls),
    }
    if tlspin.tls_paths(node.home.path)[1].exists():
        info["url"] = f"https://{node.config.host}:{node.config.port}"
        info["tls_spki"] = tlspin.certificate_pin(node.home.path)
    if as_json:
        print_json(info)
        return
    for key, value in info.items():
        if isinstance(value, dict):
            for purpose, b64 in value.items():
                out.print(f"{key + '.' + purpose:12} {b64}", markup=False)
            continue
        shown = ", ".join(value) if isinstance(value, list) else value
        out.print(f"{key:12} {shown}", markup=False)


@app.command()
@reports_errors
def serve(
    home: HomeOption,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from parley.toml).")] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="Serve TLS with the node's self-signed certificate.")
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (more than 1 needs PostgreSQL).")
    ] = 1,
) -> None:
    """Run the node's HTTP API (federation log endpoints) on uvicorn.

    Refuses to start when another server runs on the home or a key file is unsafe.
    """
    import uvicorn

    from parley.api import logs, server
    from parley.api.app import create_app

    logs.configure()
    typed: list[bytes] = []
    node = Node.open(home, functools.partial(_remember_passphrase, typed))
    if workers > 1 and node.store.dialect != "postgresql":
        raise ParleyError(
            f"--workers {workers} needs a PostgreSQL database; this node uses SQLite, whose "
            "single write lock and missing notifications allow one server process only",
            hint="run 'parley serve' without --workers, or move the node to PostgreSQL",
        )
    lock = server.hold_serve_lock(node.home.path)  # held until this process exits
    bind_host = host or node.config.host
    bind_port = port or node.config.port
    pin = tlspin.ensure_certificate(node.home.path, f"parley {node.party}") if tls else None
    _check_key_files(node)
    if pin is not None:
        out.print(f"TLS certificate SPKI pin (give it to peers as --tls-spki): {pin}")
    _check_port_free(bind_host, bind_port)
    scheme = "https" if tls else "http"
    out.print(
        f"Parley node {node.party} serving on {scheme}://{bind_host}:{bind_port}"
        + (f" with {workers} workers" if workers > 1 else "")
    )
    target: Any = create_app(node) if workers == 1 else _worker_factory(node, typed)
    server.ensure_file_limit()
    if workers > 1:
        server.metrics_directory(node.home.path)
    try:
        uvicorn.run(
            target,
            factory=workers > 1,
            workers=workers,
            host=bind_host,
            port=bind_port,
            **server.uvicorn_options(node.home.path, tls=tls),
        )
    finally:
        os.close(lock)


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on, before saying the node serves on it."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ParleyError(
                f"cannot serve on {host}:{port}: {exc.strerror}",
                hint="stop what uses the port, or give --port",
            ) from exc


def _check_key_files(node: Node) -> None:
    """Load every signing key and check the TLS key file before serving: refuse, never limp.

    A key that fails later would stop the background jobs of a server that seems to run.
    """
    node.identity()
    for purpose in PURPOSES:
        node.log.key(purpose)
    tls_key, _cert = tlspin.tls_paths(node.home.path)
    if tls_key.exists():
        tlspin.check_key_file(tls_key)


def _worker_factory(node: Node, typed: list[bytes]) -> str:
    """Prepare the environment of the worker processes, which open the node themselves."""
    for purpose in PURPOSES:  # a wrong passphrase or an open key file fails here, once
        node.log.key(purpose)
    node.store.dispose()
    os.environ["PARLEY_HOME"] = str(node.home.path)
    if typed:
        os.environ["PARLEY_PASSPHRASE"] = typed[0].decode()
    return "parley.api.app:create_app_from_env"


def _remember_passphrase(typed: list[bytes], path: str) -> bytes | None:
    """The key passphrase (environment or prompt), kept for the worker processes of ``serve``."""
    secret = passphrase_source(path)
    if secret is not None and not typed:
        typed.append(secret)
    return secret


def main() -> None:
    """Run the ``parley`` command."""
    app()
