"""``parley demo`` and ``parley exercise run``: a five-node network and scenario replay."""

from __future__ import annotations

import signal
import time
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from parley.cli.common import AsOption, acting, out, reports_errors
from parley.core.entry import Body
from parley.core.errors import ParleyError
from parley.core.verify import verify_log
from parley.exercise.network import LocalNetwork
from parley.exercise.runner import ScenarioRun, StepResult
from parley.exercise.scenario import Scenario, load_scenario
from parley.node.node import Node
from parley.store import logs

DEMO_DEADLINE_SCALE = 0.01


def default_scenario() -> Path:
    return Path(str(resources.files("parley.exercise") / "scenarios" / "nea-demo.yaml"))


def _report_step(result: StepResult) -> None:
    label = result.step.title or result.step.action
    if result.error:
        out.print(f"[red]✗[/] step {result.number} {result.step.party} {label}: {result.error}")
    else:
        out.print(f"[green]✓[/] step {result.number} {result.step.party} {label} "
                  f"→ {', '.join(result.refs)}")  # fmt: skip


def verify_nodes(nodes: dict[str, Node]) -> dict[str, str]:
    """Verify every node's own log from its store; return party -> verdict."""
    verdicts = {}
    for party, node in nodes.items():
        try:
            with node.store.read() as conn:
                items = ((s.leaf, None if s.body is None else Body(s.salt or b"", s.body))
                         for s in logs.iter_log(conn, party))  # fmt: skip
                report = verify_log(items, logs.iter_checkpoints(conn, party))
            verdicts[party] = f"OK, {report.size} entries, {report.checkpoints} checkpoints"
        except ParleyError as exc:
            verdicts[party] = f"FAILED: {exc}"
    return verdicts


def summary(scenario: Scenario, results: list[StepResult], nodes: dict[str, Node]) -> bool:
    table = Table("party", "own entries", "entries held (all logs)", "log verification")
    verdicts = verify_nodes(nodes)
    for party, node in nodes.items():
        with node.store.read() as conn:
            held = logs.next_ingest(conn)
        table.add_row(party, str(node.size()), str(held), verdicts[party])
    out.print(table)
    failed = [r for r in results if r.error]
    out.print(f"{scenario.name}: {len(results) - len(failed)} of {len(results)} steps done")
    return not failed and all(v.startswith("OK") for v in verdicts.values())


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo nodes live.")]
    = Path("demo-run"),
    headless: Annotated[bool, typer.Option(help="Run the scenario and exit.")] = False,
    duration: Annotated[float, typer.Option(help="Headless: seconds to keep running.")] = 0,
    base_port: Annotated[int, typer.Option(help="First of five ports.")] = 8701,
    scenario_file: Annotated[Path | None, typer.Option("--scenario")] = None,
) -> None:
    """Set up five nodes (US, JP, KR, CN, RU) on 127.0.0.1 and replay a scenario."""
    scenario_path = scenario_file or default_scenario()
    scenario = load_scenario(scenario_path)
    network = LocalNetwork(directory, base_port=base_port)
    out.print(f"Setting up {len(network.nodes)} nodes of network {network.network} "
              f"in {network.folder}")  # fmt: skip
    network.setup(deadline_scale=DEMO_DEADLINE_SCALE)
    network.start()
    try:
        network.peer()
        table = Table("party", "URL", "home", "logins (officer:password)")
        for local in network.nodes:
            table.add_row(local.party, local.url, str(local.home),
                          " ".join(f"{u}:{p}" for u, p in local.passwords.items()))  # fmt: skip
        out.print(table)
        nodes = {local.party: Node.open(local.home) for local in network.nodes}
        run = ScenarioRun(scenario, nodes, scenario_path.parent)
        results = run.run(on_step=_report_step)
        time.sleep(3)  # let the last entries reach every peer and the receipts come back
        ok = summary(scenario, results, nodes)
        if headless:
            time.sleep(duration)
            if not ok:
                raise typer.Exit(1)
            return
        out.print("The nodes keep running; press Ctrl-C to stop them.")
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        network.stop()
        out.print("Stopped every node process.")


def exercise_run(
    file: Path,
    node: Annotated[list[str], typer.Option("--node", help="PARTY=HOME; repeat per node.")],
    as_officer: AsOption = None,
) -> None:
    """Run a scenario file as an exercise against your own nodes (status Exercise)."""
    scenario = load_scenario(file)
    nodes: dict[str, Node] = {}
    for item in node:
        party, _, home = item.partition("=")
        if not home:
            raise ParleyError(f"--node {item!r}: expected PARTY=HOME")
        opened = Node.open(Path(home))
        if opened.party != party:
            raise ParleyError(f"--node {item!r}: that home belongs to {opened.party}")
        acting(opened, as_officer, "exercise.run", {"scenario": scenario.name}, "admin")
        nodes[party] = opened
    missing = [p for s in scenario.steps for p in [s.party] if p not in nodes]
    if missing:
        raise ParleyError(f"the scenario needs nodes for {', '.join(sorted(set(missing)))}")
    results = ScenarioRun(scenario, nodes, file.parent).run(on_step=_report_step)
    if not summary(scenario, results, nodes):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo")(reports_errors(demo))
    exercise = typer.Typer(help="Exercises as data.", no_args_is_help=True)
    exercise.command("run")(reports_errors(exercise_run))
    app.add_typer(exercise, name="exercise")
