"""``parley demo`` and ``parley exercise run``: a five-node network and scenario replay.

The demo shows each step as it happens and each receipt as it comes back to its sender, then
a summary: entries held, receipts per addressee with acknowledgement times, missed deadlines,
compliance per party and a full verification of every node's log. Headless, it exits 0 only
if every step succeeded, every expected receipt and escalation arrived
(``parley.exercise.report``) and every log verifies.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import orjson
import pyotp
import typer
from rich.markup import escape
from rich.table import Table

from parley.cli.common import AsOption, acting, out, reports_errors
from parley.core.deadlines import ACKNOWLEDGED, DELIVERED
from parley.core.errors import ParleyError
from parley.exercise import report
from parley.exercise.network import STOP_TIMEOUT_S, LocalNetwork
from parley.exercise.runner import ScenarioRun, StepResult
from parley.exercise.scenario import ExpectMiss, Scenario, load_scenario
from parley.node import convergence, roadmaps
from parley.node.node import Node, now_ms
from parley.node.policies import WITNESSED_FLOOR_MS

DEMO_DEADLINE_SCALE = 0.01
POLL_S = 0.2
SETTLE_S = 30.0
CONVERGE_S = 15.0


def default_scenario() -> Path:
    """The scenario ``parley demo`` replays when none is named: the Northeast Asia demo."""
    return Path(str(resources.files("parley.exercise") / "scenarios" / "nea-demo.yaml"))


def _label(result: StepResult) -> str:
    step = result.step
    target = getattr(step, "of", None)
    default = step.action if target is None else f"{step.action} of step {target!r}"
    return f"step {result.number} {step.party}: {step.title or default}"


class Progress:
    """Prints progress lines, each with the seconds elapsed since the command started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def __call__(self, text: str) -> None:
        """Print a line of the run's own words (Rich markup), after the time it took."""
        out.print(f"[dim]{self.elapsed():6.1f}s[/] {text}", highlight=False)

    def plain(self, text: str) -> None:
        """A line of someone else's words, never read as markup."""
        self(escape(text))


def step_reporter(say: Progress) -> Callable[[StepResult], None]:
    """What prints one line per replayed step: done, an expected miss, or the error."""

    def report_step(result: StepResult) -> None:
        if result.error:
            say(f"[red]✗[/] {escape(_label(result))}: {escape(result.error)}")
        elif isinstance(result.step, ExpectMiss):
            say(f"[yellow]…[/] {escape(_label(result))} (expected never to acknowledge)")
        else:
            say(f"[green]✓[/] {escape(_label(result))} → {', '.join(result.refs)}")

    return report_step


def watching(feed: report.ReceiptFeed, say: Progress) -> Callable[[float], None]:
    """A ``sleep`` that prints each receipt coming back to its sender while it waits."""

    def sleep(seconds: float) -> None:
        until = time.monotonic() + seconds
        while True:
            for ref, party, kind, _claimed in feed.new():
                colour = "green" if kind == "acknowledged" else "cyan"
                say(f"    [{colour}]←[/] {party} {kind} {ref}")
            for row in feed.new_misses():
                say(
                    f"    [red]![/] {row['addressee']} missed the {row['clock']} deadline "
                    f"of {row['entry']}: escalated by its sender's node"
                )
            left = until - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(POLL_S, left))

    return sleep


def settle(
    expected: list[report.Expected],
    nodes: dict[str, Node],
    sleep: Callable[[float], None],
    timeout: float,
) -> list[report.Expected]:
    """Wait (at most ``timeout`` s) until every expectation is met; return those still unmet."""
    deadline = time.monotonic() + timeout
    while True:
        left = report.outstanding(expected, nodes)
        if not left or time.monotonic() > deadline:
            return left
        sleep(0.5)


def converge(nodes: dict[str, Node], sleep: Callable[[float], None], timeout: float) -> list[str]:
    """Wait (at most ``timeout`` s) until every node holds every log as its author does."""
    deadline = time.monotonic() + timeout
    while True:
        views = {party: convergence.held(node) for party, node in nodes.items()}
        lags = [lag.describe() for lag in convergence.behind(views)]
        if not lags or time.monotonic() > deadline:
            return lags
        sleep(0.5)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C (SIGINT), SIGTERM or SIGHUP (its terminal closed).

    The signal is taken, not left to a handler.
    """
    stops = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        signal.sigwait(stops)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)


def _seconds(ms: int | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.1f} s"


def _clock_cell(clock: dict[str, Any] | None) -> str:
    """``0.0 s, met`` / ``witnessed +2 s of 10 s``: claimed delay, then the judgement."""
    if clock is None:
        return "—"
    from parley.cli.deadline_cmds import clock_text

    claimed = clock.get("claimed_after")
    judged = clock_text(clock) if clock["within"] is not None else "no deadline"
    answer = clock["answer"]
    if answer is not None and clock["within"] is not None and clock["due"] is not None:
        start = clock["due"] - clock["within"]
        best = answer["claimed"] if answer["witnessed"] is None else answer["witnessed"]
        judged += f"\nwitnessed +{_whole(best - start)} of {_whole(clock['within'])}"
    elif clock["within"] is not None:
        judged += f"\nof {_whole(clock['within'])}"
    return judged if claimed is None else f"{_seconds(claimed)}, {judged}"


def _whole(ms: int) -> str:
    """Seconds without a needless decimal: witnessed times are whole seconds."""
    return f"{ms / 1000:g} s"


def receipts_summary(record: dict[str, Any]) -> None:
    """Print the entries the run wrote, by kind, and the receipts they drew."""
    entries = record["entries"]
    kinds: dict[str, int] = {}
    for entry in entries:
        kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
    out.print(
        f"Sent: {len(entries)} addressed entries ("
        + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        + ")"
    )
    table = Table(
        "step",
        "entry",
        "to",
        "delivered",
        "acknowledged",
        "officer: reply",
        title="Receipts per addressee: claimed time after the entry's, then the "
        "judgement on witnessed times (docs/protocol.md §11) as the addressee's "
        "node makes it",
    )
    for entry in entries:
        for number, answer in enumerate(entry["answers"]):
            first = number == 0
            said = ": ".join(x for x in (answer["officer"], answer["reply"]) if x)
            got = answer["clocks"]
            table.add_row(
                str(entry["step"]) if first else "",
                f"{entry['ref']} {entry['kind']}" if first else "",
                answer["party"],
                _clock_cell(got.get(DELIVERED)),
                _clock_cell(got.get(ACKNOWLEDGED)),
                escape(said),
            )
    out.print(table)


def misses_summary(record: dict[str, Any]) -> None:
    """Print the deadlines missed, each as escalated by the sender's node."""
    missed = record["missed"]
    title = f"Missed deadlines ({len(missed)}), escalated by the sender's node"
    table = Table("entry", "kind", "addressee", "clock", "deadline", "escalated", title=title)
    for row in missed:
        within = row["within"]
        table.add_row(
            str(row["entry"]),
            str(row["kind"]),
            str(row["addressee"]),
            str(row["clock"]),
            _seconds(within if isinstance(within, int) else None),
            "yes" if row["escalated"] else "no",
        )
    out.print(table)


def compliance_summary(record: dict[str, Any]) -> None:
    """Print each party's compliance row, from witnessed times."""
    table = Table(
        "party",
        "delivered: answers / met / late / missed, median",
        "acknowledged: answers / met / late / missed, median",
        title="Compliance per party (witnessed times; each party's row as its own "
        "node computes it, which holds every entry addressed to it)",
    )
    for party, clocks in record["compliance"].items():
        if clocks is None:
            continue
        cells = [
            f"{c['answers']} / {c['met']} / {c['late']} / {c['missed']}, {_seconds(c['median_ms'])}"
            for c in (clocks[DELIVERED], clocks[ACKNOWLEDGED])
        ]
        table.add_row(party, *cells)
    out.print(table)


def logs_summary(record: dict[str, Any]) -> None:
    """Print whether every node holds every log as its author does, and each log's verification."""
    converged = record["converged"]
    title = (
        "Logs: every node holds every log as its author does (converged)"
        if converged
        else "Logs: NOT converged yet, so the nodes' counts differ"
    )
    table = Table(
        "party", "own entries", "entries held (all logs)", "log verification", title=title
    )
    for party, held in record["logs"].items():
        table.add_row(party, str(held["own"]), str(held["held"]), record["verification"][party])
    out.print(table)
    for lag in record["behind"]:
        out.print(f"  not converged: {escape(lag)}")


def roadmaps_summary(nodes: dict[str, Node], now: int) -> None:
    """One line per road map a node holds: version in force, each step, each milestone."""
    if not nodes:
        return
    node = next(iter(nodes.values()))
    for item in roadmaps.listing(node):
        state = roadmaps.show(node, item["roadmap"], now).to_dict()
        force = state["in_force"]
        held = (
            "not in force"
            if force is None
            else f"version {force['version']} in force ({force['ref']}, signed by "
            f"{', '.join(force['signed'])})"
        )
        steps = ", ".join(f"{s['id']} {s['status']}" for s in state["steps"])
        reached = ", ".join(
            f"{name} {'reached' if done else 'not reached'}"
            for name, done in state["milestones"].items()
        )
        out.print(
            f"Road map {item['roadmap']} ({item['id']}): {held}; steps: {steps}; "
            f"milestones: {reached or 'none'}",
            markup=False,
            highlight=False,
        )


def summary(
    scenario: Scenario,
    results: list[StepResult],
    nodes: dict[str, Node],
    left: list[report.Expected] | None = None,
    folder: Path | None = None,
) -> bool:
    """Print the summary; True if every step ran, nothing expected is missing, logs verify.

    Everything shown is judged at one instant (``parley.exercise.report.summary``); with
    ``folder``, the same record is written to ``folder/summary.json``.
    """
    record = report.summary(results, nodes, now_ms())
    if folder is not None:
        path = folder / "summary.json"
        path.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
        path.chmod(0o600)
    receipts_summary(record)
    misses_summary(record)
    compliance_summary(record)
    logs_summary(record)
    roadmaps_summary(nodes, now_ms())
    failed = [r for r in results if r.error]
    out.print(f"{scenario.name}: {len(results) - len(failed)} of {len(results)} steps done")
    for item in left or []:
        out.print(f"[red]✗[/] {item.describe()}", markup=True, highlight=False)
    if left == []:
        out.print("Every expected receipt and missed deadline is in.")
    verdicts = record["verification"].values()
    return not failed and not left and all(v.startswith("OK") for v in verdicts)


def _stop(network: LocalNetwork, say: Progress) -> None:
    """Stop every server; a terminal that went away (a broken pipe) does not prevent it."""
    with contextlib.suppress(OSError):
        say(
            f"Stopping the {len(network.nodes)} node servers at once (SIGTERM to all, SIGKILL "
            f"to any still running after {STOP_TIMEOUT_S:.0f} s)"
        )
    started = time.monotonic()
    killed = network.stop()
    note = f"; killed {', '.join(killed)}" if killed else ""
    with contextlib.suppress(OSError):
        say(f"Stopped every node process in {time.monotonic() - started:.1f} s{note}.")


def demo(
    directory: Annotated[
        Path,
        typer.Option(
            "--dir", help="Where the demo nodes live (a previous run there is kept as DIR.prev)."
        ),
    ] = Path("demo-run"),
    headless: Annotated[bool, typer.Option(help="Run the scenario and exit.")] = False,
    duration: Annotated[
        float,
        typer.Option(
            help="Most seconds to wait after the last step for every expected "
            "receipt and missed deadline."
        ),
    ] = SETTLE_S,
    base_port: Annotated[int, typer.Option(help="First of five ports.")] = 8701,
    scenario_file: Annotated[Path | None, typer.Option("--scenario")] = None,
) -> None:
    """Set up five nodes (US, JP, KR, CN, RU) on 127.0.0.1 and replay a scenario."""
    say = Progress()
    scenario_path = scenario_file or default_scenario()
    scenario = load_scenario(scenario_path)
    network = LocalNetwork(directory, base_port=base_port, progress=say.plain)
    say(
        f"Setting up {len(network.nodes)} nodes of network {network.network} "
        f"in {escape(str(network.folder))}"
    )
    started = False
    try:
        network.setup(deadline_scale=DEMO_DEADLINE_SCALE, deadline_floor_ms=WITNESSED_FLOOR_MS)
        started = True
        network.start()
        ok = _run(network, scenario, scenario_path, duration, say)
        if headless:
            if not ok:
                out.print("[red]The demo did not bring back everything it expected.[/]")
                raise typer.Exit(1)
            return
        say("The nodes keep running; press Ctrl-C to stop them.")
        wait_for_interrupt()
    except KeyboardInterrupt:
        say("Interrupted.")
        raise typer.Exit(130) from None
    finally:
        if started:
            _stop(network, say)


def _run(
    network: LocalNetwork, scenario: Scenario, scenario_path: Path, duration: float, say: Progress
) -> bool:
    network.peer()
    table = Table(
        "party", "pages and API (TLS 1.3)", "TLS SPKI pin", "home", "logins (officer:password)"
    )
    for local in network.nodes:
        table.add_row(
            local.party,
            f"{local.url}/",
            f"{(local.pin or '')[:16]}…",
            str(local.home),
            " ".join(f"{u}:{p}" for u, p in local.passwords.items()),
        )
    out.print(table)
    folder = escape(str(network.folder))
    say(
        "Watch it live: open a node's pages in a browser (its certificate is self-signed: compare "
        "the SPKI pin), log in as duty with the password above and a code from "
        f"'parley demo-code JP duty --dir {folder}' (or add the totp- secret of logins.txt to an "
        "authenticator app)."
    )
    nodes = {local.party: Node.open(local.home) for local in network.nodes}
    sleep = watching(report.ReceiptFeed(nodes), say)
    run = ScenarioRun(scenario, nodes, scenario_path.parent)
    say(
        f"Replaying {escape(scenario.name)}: {len(scenario.steps)} steps over about "
        f"{scenario.steps[-1].at:.0f} s"
    )
    results = run.run(on_step=step_reporter(say), sleep=sleep)
    say(f"Waiting up to {duration:.0f} s for the expected receipts and missed deadlines")
    left = settle(report.expectations(results, nodes), nodes, sleep, duration)
    say(f"Waiting up to {CONVERGE_S:.0f} s until every node holds every log (converged)")
    lags = converge(nodes, sleep, CONVERGE_S)
    say("Converged." if not lags else f"Not converged after {CONVERGE_S:.0f} s.")
    return summary(scenario, results, nodes, left, network.folder)


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
    results = ScenarioRun(scenario, nodes, file.parent).run(on_step=step_reporter(Progress()))
    if not summary(scenario, results, nodes):
        raise typer.Exit(1)


def demo_code(
    party: Annotated[str, typer.Argument(help="The node's party, e.g. JP.")],
    officer: Annotated[str, typer.Argument(help="The demo officer: duty or admin.")] = "duty",
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo nodes live.")] = Path(
        "demo-run"
    ),
) -> None:
    """Print the current TOTP code of a demo officer, to log in to the demo's pages."""
    logins = directory / "logins.txt"
    if not logins.is_file():
        raise ParleyError(f"{logins} does not exist", hint="run 'make demo' first")
    wanted = f"totp-{officer}="
    for line in logins.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0] == party.upper():
            for word in words:
                if word.startswith(wanted):
                    out.print(pyotp.TOTP(word[len(wanted) :]).now())
                    return
            raise ParleyError(f"{logins} holds no TOTP secret of {officer} at {party.upper()}")
    raise ParleyError(f"{logins} names no node {party.upper()}")


def register(app: typer.Typer) -> None:
    """Add ``parley demo``, ``parley demo-code`` and ``parley exercise run`` to the command."""
    app.command("demo")(reports_errors(demo))
    app.command("demo-code")(reports_errors(demo_code))
    exercise = typer.Typer(help="Exercises as data.", no_args_is_help=True)
    exercise.command("run")(reports_errors(exercise_run))
    app.add_typer(exercise, name="exercise")
