"""``parley demo`` and ``parley exercise run``: a five-node network and scenario replay.

The demo shows each step as it happens and each receipt as it comes back to its sender, then
a summary: entries held, receipts per addressee with acknowledgement times, missed deadlines,
compliance per party and a full verification of every node's log. Headless, it exits 0 only
if every step succeeded, every expected receipt and escalation arrived
(``parley.exercise.report``) and every log verifies.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from parley.cli.common import AsOption, acting, out, reports_errors
from parley.core.entry import Body
from parley.core.errors import ParleyError
from parley.core.verify import verify_log
from parley.exercise import report
from parley.exercise.network import LocalNetwork
from parley.exercise.runner import ScenarioRun, StepResult
from parley.exercise.scenario import ExpectMiss, Scenario, load_scenario
from parley.node.node import Node, now_ms
from parley.store import logs

DEMO_DEADLINE_SCALE = 0.01
POLL_S = 0.2
SETTLE_S = 30.0


def default_scenario() -> Path:
    return Path(str(resources.files("parley.exercise") / "scenarios" / "nea-demo.yaml"))


def _label(result: StepResult) -> str:
    step = result.step
    target = getattr(step, "of", None)
    default = step.action if target is None else f"{step.action} of step {target!r}"
    return f"step {result.number} {step.party}: {step.title or default}"


def _report_step(result: StepResult) -> None:
    if result.error:
        out.print(f"[red]✗[/] {escape(_label(result))}: {escape(result.error)}")
    elif isinstance(result.step, ExpectMiss):
        out.print(f"[yellow]…[/] {escape(_label(result))} (expected never to acknowledge)")
    else:
        out.print(f"[green]✓[/] {escape(_label(result))} → {', '.join(result.refs)}")


def watching(feed: report.ReceiptFeed) -> Callable[[float], None]:
    """A ``sleep`` that prints each receipt coming back to its sender while it waits."""

    def sleep(seconds: float) -> None:
        until = time.monotonic() + seconds
        while True:
            for ref, party, kind, _claimed in feed.new():
                colour = "green" if kind == "acknowledged" else "cyan"
                out.print(f"    [{colour}]←[/] {party} {kind} {ref}")
            for row in feed.new_misses():
                out.print(f"    [red]![/] {row['addressee']} missed the {row['clock']} deadline "
                          f"of {row['entry']}: escalated by its sender's node")  # fmt: skip
            left = until - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(POLL_S, left))

    return sleep


def settle(expected: list[report.Expected], nodes: dict[str, Node],
           sleep: Callable[[float], None], timeout: float) -> list[report.Expected]:  # fmt: skip
    """Wait (at most ``timeout`` s) until every expectation is met; return those still unmet."""
    deadline = time.monotonic() + timeout
    while True:
        left = report.outstanding(expected, nodes)
        if not left or time.monotonic() > deadline:
            return left
        sleep(0.5)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM; the signal is taken, not left to a handler."""
    stops = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        signal.sigwait(stops)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)


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


def _seconds(ms: int | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.1f} s"


def receipts_summary(results: list[StepResult], nodes: dict[str, Node]) -> None:
    entries = report.receipts_table(results, nodes)
    kinds: dict[str, int] = {}
    for entry in entries:
        kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
    out.print(f"Sent: {len(entries)} addressed entries (" +
              ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) + ")")  # fmt: skip
    table = Table("step", "entry", "to", "delivered", "acknowledged", "officer: reply",
                  title="Receipts per addressee, after the entry's time")  # fmt: skip
    for entry in entries:
        for number, answer in enumerate(entry.answers):
            first = number == 0
            said = ": ".join(x for x in (answer.officer, answer.reply) if x)
            table.add_row(str(entry.number) if first else "",
                          f"{entry.ref} {entry.kind}" if first else "", answer.party,
                          _seconds(answer.delivered_after), _seconds(answer.acknowledged_after),
                          said)  # fmt: skip
    out.print(table)


def misses_summary(nodes: dict[str, Node]) -> None:
    missed = report.missed_clocks(nodes)
    title = f"Missed deadlines ({len(missed)}), escalated by the sender's node"
    table = Table("entry", "kind", "addressee", "clock", "deadline", "escalated", title=title)
    for row in missed:
        within = row["within"]
        table.add_row(str(row["entry"]), str(row["kind"]), str(row["addressee"]),
                      str(row["clock"]), _seconds(within if isinstance(within, int) else None),
                      "yes" if row["escalated"] else "no")  # fmt: skip
    out.print(table)


def compliance_summary(nodes: dict[str, Node]) -> None:
    from parley.node import compliance

    table = Table("party", "delivered: answers / met / late / missed, median",
                  "acknowledged: answers / met / late / missed, median",
                  title="Compliance per party (witnessed times; each party's row as its own "
                  "node computes it, which holds every entry addressed to it)")  # fmt: skip
    now = now_ms()
    for party, node in nodes.items():
        clocks = compliance.scoreboard(node, now)["parties"].get(party)
        if clocks is None:
            continue
        cells = [f"{c['answers']} / {c['met']} / {c['late']} / {c['missed']}, "
                 f"{_seconds(c['median_ms'])}" for c in (clocks["delivered"],
                                                         clocks["acknowledged"])]  # fmt: skip
        table.add_row(party, *cells)
    out.print(table)


def summary(scenario: Scenario, results: list[StepResult], nodes: dict[str, Node],
            left: list[report.Expected] | None = None) -> bool:  # fmt: skip
    """Print the summary; True if every step ran, nothing expected is missing, logs verify."""
    receipts_summary(results, nodes)
    misses_summary(nodes)
    compliance_summary(nodes)
    table = Table("party", "own entries", "entries held (all logs)", "log verification")
    verdicts = verify_nodes(nodes)
    for party, node in nodes.items():
        with node.store.read() as conn:
            held = logs.next_ingest(conn)
        table.add_row(party, str(node.size()), str(held), verdicts[party])
    out.print(table)
    failed = [r for r in results if r.error]
    out.print(f"{scenario.name}: {len(results) - len(failed)} of {len(results)} steps done")
    for item in left or []:
        out.print(f"[red]✗[/] {item.describe()}", markup=True, highlight=False)
    if left == []:
        out.print("Every expected receipt and missed deadline is in.")
    return not failed and not left and all(v.startswith("OK") for v in verdicts.values())


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo nodes live.")]
    = Path("demo-run"),
    headless: Annotated[bool, typer.Option(help="Run the scenario and exit.")] = False,
    duration: Annotated[
        float, typer.Option(help="Most seconds to wait after the last step for every expected "
                            "receipt and missed deadline.")
    ] = SETTLE_S,
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
        table = Table("party", "URL (TLS 1.3)", "TLS SPKI pin", "home",
                      "logins (officer:password)")  # fmt: skip
        for local in network.nodes:
            table.add_row(local.party, local.url, f"{(local.pin or '')[:16]}…", str(local.home),
                          " ".join(f"{u}:{p}" for u, p in local.passwords.items()))  # fmt: skip
        out.print(table)
        nodes = {local.party: Node.open(local.home) for local in network.nodes}
        sleep = watching(report.ReceiptFeed(nodes))
        run = ScenarioRun(scenario, nodes, scenario_path.parent)
        results = run.run(on_step=_report_step, sleep=sleep)
        out.print(f"Waiting up to {duration:.0f} s for the expected receipts and missed deadlines")
        left = settle(report.expectations(results, nodes), nodes, sleep, duration)
        ok = summary(scenario, results, nodes, left)
        if headless:
            if not ok:
                out.print("[red]The demo did not bring back everything it expected.[/]")
                raise typer.Exit(1)
            return
        out.print("The nodes keep running; press Ctrl-C to stop them.")
        wait_for_interrupt()
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
