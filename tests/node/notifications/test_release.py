"""Two-person release on a real node whose parley.toml names release categories."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from parley.core.errors import (
    ConfigurationError,
    ConflictError,
    InvalidEntryError,
    NotAuthorizedError,
)
from parley.node import webhooks
from parley.node.home import NodeHome
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle, release
from parley.node.notifications.release import Pending, ReleaseState
from parley.node.officers import Officer
from parley.store import live as live_rows

RELEASE = '\n[release]\ncategories = ["nuclear.*", "geo.tsunami"]\n'
ALICE = Officer("alice", "duty-officer")
BOB = Officer("bob", "duty-officer")
ADMIN = Officer("root", "admin")
NUCLEAR: dict[str, Any] = {
    "category": "nuclear.facility-event",
    "severity": "Severe",
    "urgency": "Immediate",
    "certainty": "Observed",
    "headline": "INES 2 event at Example-2",
    "details": {"facility": "Example-2", "release": "no"},
    "areas": [
        {"desc": "Example-2", "circles": [{"center": ["141.03", "37.42"], "radius_km": "30"}]}
    ],
}


def with_release(home: Path, text: str = RELEASE) -> Path:
    config = home / "parley.toml"
    config.write_text(config.read_text() + text)
    return config


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    Node.create(tmp_path / "jp", party="JP", name="JP centre", network="parley-test").close()
    with_release(tmp_path / "jp")
    opened = Node.open(tmp_path / "jp")
    yield opened
    opened.close()


def prepared(node: Node, who: Officer = ALICE, **fields: Any) -> Pending:
    outcome = release.submit(node, who, NUCLEAR | fields, status="Actual", now=now_ms())
    assert isinstance(outcome, Pending)
    return outcome


def body_of(node: Node, ref: str) -> dict[str, Any]:
    with node.store.read() as conn:
        return lifecycle.notification_at(conn, ref).body


def test_release_categories_are_codes_or_domains_and_unknown_ones_are_named(
    tmp_path: Path,
) -> None:
    Node.create(tmp_path / "jp", party="JP", name="JP centre", network="parley-test").close()
    home = NodeHome(tmp_path / "jp")
    original = home.config_path.read_text()
    with_release(home.path, '\n[release]\ncategories = ["nuclear.*", "geo.tsunami"]\n')
    config = home.load_config()
    assert config.release_categories == ("nuclear.*", "geo.tsunami")
    assert config.to_toml()["release"] == {"categories": ["nuclear.*", "geo.tsunami"]}
    assert config.needs_release("nuclear.facility-event") and config.needs_release("geo.tsunami")
    assert not config.needs_release("geo.earthquake")
    home.config_path.write_text(original)
    with_release(home.path, '\n[release]\ncategories = ["nukes.*", "geo.tsunami", "geo.quake"]\n')
    with pytest.raises(ConfigurationError, match="'nukes.\\*', 'geo.quake' are not categories"):
        home.load_config()
    home.config_path.write_text(original)
    with_release(home.path, '\n[release]\ncategory = ["nuclear.*"]\n')
    with pytest.raises(ConfigurationError, match="unknown key category"):
        home.load_config()


def test_only_actual_notifications_in_a_release_category_need_two_officers(node: Node) -> None:
    assert release.needs_release(node, "nuclear.facility-event", "Actual")
    assert not release.needs_release(node, "nuclear.facility-event", "Exercise")
    assert not release.needs_release(node, "nuclear.facility-event", "Test")
    assert not release.needs_release(node, "geo.earthquake", "Actual")


def test_an_exercise_is_signed_at_once_by_one_officer(node: Node) -> None:
    size = node.size()
    outcome = release.submit(node, ALICE, NUCLEAR, status="Exercise", now=now_ms())
    assert isinstance(outcome, lifecycle.Outcome)
    assert node.size() == size + 1
    assert "release" not in body_of(node, outcome.written.ref)


def test_a_pending_release_is_stored_unsigned_and_listed(node: Node) -> None:
    size = node.size()
    item = prepared(node)
    assert node.size() == size  # nothing appended
    assert (item.state, item.prepared_by, item.prepared_role) == (
        "pending",
        "alice",
        "duty-officer",
    )
    assert [p.id for p in release.pending(node)] == [item.id]
    assert release.find(node, item.id).headline == NUCLEAR["headline"]


def test_a_notification_that_would_be_refused_is_refused_when_prepared(node: Node) -> None:
    with pytest.raises(InvalidEntryError, match="details"):
        release.submit(node, ALICE, NUCLEAR | {"details": {}}, status="Actual", now=now_ms())
    assert release.pending(node) == []


def test_the_officer_who_prepared_it_cannot_release_it(node: Node) -> None:
    item = prepared(node)
    size = node.size()
    with pytest.raises(NotAuthorizedError, match="two-person release") as caught:
        release.release(node, item.id, "alice", "duty-officer", now_ms())
    assert "--break-glass" in (caught.value.hint or "")
    assert node.size() == size
    assert release.find(node, item.id).state == ReleaseState.PENDING


def test_a_second_officer_releases_it_and_the_body_names_both_roles_only(node: Node) -> None:
    item = prepared(node)
    done = release.release(node, item.id, "bob", "admin", now_ms())
    body = body_of(node, done.ref)
    assert body["release"] == {"prepared_by": "duty-officer", "released_by": "admin"}
    signed = orjson.dumps(body).decode()
    assert "alice" not in signed and "bob" not in signed
    stored = release.find(node, item.id)
    assert (stored.state, stored.released_by, stored.ref) == ("released", "bob", done.ref)
    with pytest.raises(ConflictError, match=f"is released as {done.ref}"):
        release.release(node, item.id, "carol", "duty-officer", now_ms())


def test_a_role_that_may_not_release_or_prepare_is_refused(node: Node) -> None:
    item = prepared(node)
    with pytest.raises(NotAuthorizedError, match="may not release"):
        release.release(node, item.id, "olga", "observer", now_ms())
    with pytest.raises(NotAuthorizedError, match="may not notify"):
        release.submit(node, Officer("olga", "observer"), NUCLEAR, status="Actual", now=now_ms())


def test_break_glass_needs_a_reason(node: Node) -> None:
    item = prepared(node)
    with pytest.raises(InvalidEntryError) as caught:
        release.break_glass(node, item.id, "alice", "duty-officer", "  alone  ", now_ms())
    assert caught.value.field == "reason"
    assert release.find(node, item.id).state == ReleaseState.PENDING


def test_break_glass_releases_alone_and_tells_every_officer(node: Node) -> None:
    webhooks.add(node.store, "http://127.0.0.1:9/hook", ["release.break-glass"], now_ms())
    item = prepared(node)
    reason = "night shift alone; forthwith duty under the convention"
    done = release.break_glass(node, item.id, "alice", "duty-officer", reason, now_ms())
    body = body_of(node, done.ref)
    assert body["release"] == {
        "prepared_by": "duty-officer",
        "released_by": "duty-officer",
        "break_glass": True,
    }
    assert "night shift" not in orjson.dumps(body).decode()
    with node.store.read() as conn:
        events = [e for e in live_rows.after(conn, 0, 100) if e.kind == "release.break-glass"]
    assert len(events) == 1 and events[0].officer is None  # for every officer
    said = orjson.loads(events[0].data)
    assert (said["ref"], said["reason"], said["role"]) == (done.ref, reason, "duty-officer")
    queued = webhooks.outbox(node.store)
    assert [row["event"] for row in queued] == ["release.break-glass"]
    assert release.find(node, item.id).break_glass_reason == reason


def test_break_glass_is_for_the_officer_who_prepared_it(node: Node) -> None:
    item = prepared(node)
    with pytest.raises(InvalidEntryError, match="break-glass is for the officer who prepared"):
        release.break_glass(node, item.id, "bob", "duty-officer", "a reason of length", now_ms())


def test_withdrawing_is_for_the_preparer_or_an_administrator(node: Node) -> None:
    first, second = prepared(node), prepared(node)
    with pytest.raises(NotAuthorizedError, match="only that officer or an administrator"):
        release.withdraw(node, first.id, "bob", "duty-officer", now_ms())
    assert release.withdraw(node, first.id, "alice", "duty-officer", now_ms()).state == "withdrawn"
    assert release.withdraw(node, second.id, "root", "admin", now_ms()).withdrawn_by == "root"
    with pytest.raises(ConflictError, match="is withdrawn"):
        release.release(node, first.id, "bob", "duty-officer", now_ms())
    assert release.pending(node) == []
    assert len(release.pending(node, every=True)) == 2


def test_updates_and_cancels_of_a_released_notification_need_one_officer(node: Node) -> None:
    item = prepared(node)
    done = release.release(node, item.id, "bob", "duty-officer", now_ms())
    revision = lifecycle.Revision(texts={"headline": "INES 2, contained"})
    update = lifecycle.update(node, done.ref, revision)
    assert "release" not in body_of(node, update.written.ref)
    cancel = lifecycle.answer(node, update.written.ref, msg_type="Cancel")
    assert body_of(node, cancel.written.ref)["msg_type"] == "Cancel"


def test_two_officers_releasing_at_once_sign_it_once(node: Node) -> None:
    item = prepared(node)
    size = node.size()
    start = threading.Barrier(2)
    results: list[object] = []

    def second_officer(name: str) -> None:
        start.wait()
        try:
            results.append(release.release(node, item.id, name, "duty-officer", now_ms()))
        except ConflictError as exc:
            results.append(exc)

    threads = [threading.Thread(target=second_officer, args=(n,)) for n in ("bob", "carol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(r).__name__ for r in results) == ["ConflictError", "Released"]
    assert node.size() == size + 1
