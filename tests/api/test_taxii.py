"""The TAXII 2.1 server, driven by the OASIS ``taxii2-client`` against a real ``parley serve``.

Real bundles: the OASIS CTI TC examples and MITRE ATT&CK for ICS 18.1 (1,826 objects), from
``tests/data/stix``. Writes go through ``Collection.add_objects`` in envelopes of 50; reads
through ``as_pages``, which follows ``more`` and ``next`` as a client of any server would.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from parley.node import officers
from parley.node.access import Scope
from parley.node.node import Node, now_ms
from tests.node.conftest import make_network
from tests.support import OFFICER_PASSWORD
from tests.support import Server as NodeServer

# Real `parley serve` processes: scheduled first (tests/conftest.py).
pytestmark = pytest.mark.fleet

DATA = Path(__file__).resolve().parents[1] / "data" / "stix"
ICS = DATA / "mitre_attack" / "ics-attack-18.1.json"
RED_EXAMPLE = DATA / "oasis_examples" / "interop-objectmarking-test.json"  # marked TLP:RED
EXAMPLES = sorted(p for p in (DATA / "oasis_examples").glob("*.json") if p != RED_EXAMPLE)
TAXII = "application/taxii+json;version=2.1"


def objects_of(path: Path) -> list[dict[str, Any]]:
    """The objects of a bundle file, or the one object a file holds alone."""
    found: dict[str, Any] = json.loads(path.read_text())
    objects: list[dict[str, Any]] = found["objects"] if found["type"] == "bundle" else [found]
    return objects


def key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["id"], str(obj.get("modified") or obj.get("created") or "")


def chunks(objects: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(objects), size):
        yield objects[start : start + size]


class Served:
    """A real node process at ``url`` and a token per role of its officers."""

    def __init__(self, home: Path) -> None:
        node = Node.open(home)
        now = now_ms()
        self.tokens: dict[str, str] = {}
        for name, role, scope in (
            ("analyst", "analyst", Scope.ANALYST),
            ("observer", "observer", Scope.READ),
            ("duty-officer", "duty-officer", Scope.NOTIFY),
        ):
            officers.add_officer(node.store, name, role, OFFICER_PASSWORD, now)
            self.tokens[name] = officers.issue_token(node.store, name, scope, now)[0]
        self.tokens["analyst-read"] = officers.issue_token(node.store, "analyst", Scope.READ, now)[
            0
        ]
        node.close()
        self.process = NodeServer(home)
        self.url = self.process.url

    def root(self, who: str) -> ApiRoot:
        return ApiRoot(f"{self.url}/taxii2/cyber/", user="taxii", password=self.tokens[who])

    def collection(self, who: str, title: str) -> Collection:
        for found in self.root(who).collections:
            if found.title == title:
                return found
        raise AssertionError(f"{who} sees no collection {title!r}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("taxii")
    for node in make_network(folder, ("JP", "US")).values():
        node.close()
    built = Served(folder / "jp")
    yield built
    built.process.stop()


def read_all(collection: Collection, per_request: int, **filters: Any) -> list[dict[str, Any]]:
    return [
        obj
        for page in as_pages(collection.get_objects, per_request=per_request, **filters)
        for obj in page.get("objects", [])
    ]


def test_discovery_names_the_api_root_and_it_speaks_taxii_2_1(served: Served) -> None:
    server = Server(f"{served.url}/taxii2/", user="taxii", password=served.tokens["analyst"])
    assert server.title == "Parley node JP"
    assert [root.url for root in server.api_roots] == [f"{served.url}/taxii2/cyber/"]
    root = server.default
    assert root is not None
    assert root.versions == [TAXII]
    assert root.max_content_length >= 16 * 1024 * 1024


def test_the_oasis_examples_written_by_an_analyst_read_back_each_object_once(
    served: Served,
) -> None:
    collection = served.collection("analyst", "shared with all")
    assert collection.can_write
    written: set[tuple[str, str]] = set()
    for path in EXAMPLES:
        objects = objects_of(path)
        status = collection.add_objects({"objects": objects})
        assert status.status == "complete"
        assert status.success_count == len(objects), status.failures
        assert {s["id"] for s in status.successes} == {o["id"] for o in objects}
        written |= {key(o) for o in objects}
    reader = served.collection("analyst", "shared with all")
    seen = [key(obj) for obj in read_all(reader, 7, version="all")]
    assert Counter(seen).most_common(1)[0][1] == 1
    assert set(seen) == written


def test_attack_for_ics_pages_every_object_exactly_once_while_objects_are_added(
    served: Served,
) -> None:
    ics = objects_of(ICS)
    assert len(ics) == 1826
    target = served.collection("analyst", "JP+US")
    for envelope in chunks(ics, 50):
        assert target.add_objects({"objects": envelope}).success_count == len(envelope)
    reader = served.collection("analyst", "JP+US")
    assert reader.can_read
    extra = [obj for path in EXAMPLES[:4] for obj in objects_of(path)]
    writer_done = threading.Event()

    def keep_adding() -> None:
        adder = served.collection("analyst", "JP+US")
        for envelope in chunks(extra, 5):
            adder.add_objects({"objects": envelope})
        writer_done.set()

    adding = threading.Thread(target=keep_adding)
    adding.start()
    seen: list[tuple[str, str]] = []
    pages = 0
    for page in as_pages(reader.get_objects, per_request=100):
        seen += [key(obj) for obj in page.get("objects", [])]
        pages += 1
    adding.join(timeout=120)
    assert writer_done.is_set()
    assert pages >= 19
    assert Counter(seen).most_common(1)[0][1] == 1
    assert {key(obj) for obj in ics} <= set(seen)
    after = [key(obj) for obj in read_all(reader, 500)]
    assert Counter(after).most_common(1)[0][1] == 1
    assert {key(o) for o in ics} | {key(o) for o in extra} == set(after)


def test_polling_with_added_after_misses_nothing(served: Served) -> None:
    collection = served.collection("analyst", "shared with all (Exercise)")
    objects = objects_of(EXAMPLES[0]) + objects_of(EXAMPLES[1])
    last: str | None = None
    seen: list[str] = []
    for envelope in chunks(objects, 3):
        collection.add_objects({"objects": envelope})
        while True:
            manifest = collection.get_manifest(added_after=last, limit=2)
            records = manifest.get("objects", [])
            if not records:
                break
            dates = [record["date_added"] for record in records]
            assert dates == sorted(set(dates))
            assert last is None or dates[0] > last
            last = dates[-1]
            seen += [record["id"] for record in records]
    assert sorted(seen) == sorted(o["id"] for o in objects)


def test_filters_by_type_id_version_and_spec_version(served: Served) -> None:
    collection = served.collection("analyst", "shared with all")
    poison = objects_of(DATA / "oasis_examples" / "poisonivy.json")
    malware = sorted(o["id"] for o in poison if o["type"] == "malware")
    found = read_all(collection, 50, type="malware")
    assert malware and set(malware) <= {o["id"] for o in found}
    assert {o["type"] for o in found} == {"malware"}
    one = poison[0]
    assert [o["id"] for o in read_all(collection, 50, id=one["id"])] == [one["id"]]
    exact = read_all(collection, 50, id=one["id"], version=one["modified"])
    assert [o["id"] for o in exact] == [one["id"]]
    assert read_all(collection, 50, id=one["id"], version="2001-01-01T00:00:00.000Z") == []
    assert read_all(collection, 50, spec_version="2.0") == []
    assert len(read_all(collection, 50, spec_version="2.1")) == len(read_all(collection, 50))
    got = collection.get_object(one["id"])
    assert [o["id"] for o in got["objects"]] == [one["id"]]
    versions = collection.object_versions(one["id"])
    assert versions["versions"] == [one["modified"]]


def test_a_new_version_replaces_the_old_one_unless_all_versions_are_asked_for(
    served: Served,
) -> None:
    collection = served.collection("analyst", "shared with all")
    first = dict(objects_of(EXAMPLES[0])[0])
    newer = dict(first, modified="2030-01-01T00:00:00.000Z")
    collection.add_objects({"objects": [newer]})
    latest = collection.get_object(first["id"])["objects"]
    assert [o["modified"] for o in latest] == [newer["modified"]]
    every = collection.get_object(first["id"], version="all")["objects"]
    assert sorted(o["modified"] for o in every) == sorted([first["modified"], newer["modified"]])
    oldest = collection.get_object(first["id"], version="first")["objects"]
    assert [o["modified"] for o in oldest] == [first["modified"]]


def test_delete_answers_405_because_the_log_is_append_only(served: Served) -> None:
    collection = served.collection("analyst", "shared with all")
    some = objects_of(EXAMPLES[0])[0]
    with pytest.raises(requests.HTTPError) as refused:
        collection.delete_object(some["id"])
    answer = refused.value.response
    assert answer is not None
    assert answer.status_code == 405
    assert answer.headers["content-type"] == TAXII
    assert answer.json()["http_status"] == "405"
    assert "append-only" in answer.json()["description"]
    assert collection.get_object(some["id"])["objects"]


def raw(served: Served, who: str | None = "analyst") -> httpx.Client:
    auth = None if who is None else httpx.BasicAuth("taxii", served.tokens[who])
    return httpx.Client(base_url=f"{served.url}/taxii2/cyber/", auth=auth, timeout=30)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "names"),
    [
        (b"{not json", TAXII, 400, "not JSON"),
        (b"[]", TAXII, 400, "not a JSON object"),
        (b'{"objects": []}', TAXII, 400, "objects"),
        (b'{"more": false}', TAXII, 400, "objects"),
        (b'{"objects": [{"type": "x"}]}', "application/json", 415, TAXII),
    ],
)
def test_a_bad_envelope_gets_a_taxii_error_that_names_the_problem(
    served: Served, body: bytes, content_type: str, status: int, names: str
) -> None:
    collection = served.collection("analyst", "shared with all")
    with raw(served) as client:
        answer = client.post(
            f"collections/{collection.id}/objects/",
            content=body,
            headers={"content-type": content_type, "accept": TAXII},
        )
    assert answer.status_code == status
    assert answer.headers["content-type"] == TAXII
    error = answer.json()
    assert error["http_status"] == str(status)
    assert names in error["description"] + json.dumps(error.get("details", {}))


def test_bad_objects_are_failures_in_the_status_and_the_good_ones_are_stored(
    served: Served,
) -> None:
    collection = served.collection("analyst", "shared with all")
    good = objects_of(EXAMPLES[2])
    bad = [
        {"type": "indicator", "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"},
        {"type": "indicator", "id": "indicator--not-a-uuid"},
        {"type": "indicator", "spec_version": "2.0", "id": good[0]["id"]},
    ]
    status = collection.add_objects({"objects": good + bad})
    assert status.success_count == len(good)
    assert status.failure_count == 3
    assert all(f["message"] for f in status.failures)
    assert "its id does not begin with its type" in status.failures[0]["message"]


def test_objects_marked_red_cannot_go_to_a_collection_shared_with_all(served: Served) -> None:
    collection = served.collection("analyst", "shared with all")
    with raw(served) as client:
        answer = client.post(
            f"collections/{collection.id}/objects/",
            json={"objects": objects_of(RED_EXAMPLE)},
            headers={"content-type": TAXII, "accept": TAXII},
        )
    assert answer.status_code == 400
    assert answer.json()["details"]["field"] == "object_marking_refs"
    red = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.1']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"],
    }
    with raw(served) as client:
        answer = client.post(
            f"collections/{collection.id}/objects/",
            json={"objects": [red]},
            headers={"content-type": TAXII, "accept": TAXII},
        )
    assert answer.status_code == 400
    assert "TLP:RED" in answer.json()["description"]
    amber = served.collection("analyst", "JP+US")
    status = amber.add_objects({"objects": [red]})
    assert status.success_count == 1
    duty = served.collection("duty-officer", "JP+US")
    assert red["id"] in {o["id"] for o in read_all(duty, 1000, id=red["id"])}
    analyst = served.collection("analyst", "JP+US")
    assert read_all(analyst, 1000, id=red["id"]) == []


def test_an_anonymous_caller_gets_401_that_says_what_to_send(served: Served) -> None:
    with raw(served, None) as client:
        answer = client.get("collections/", headers={"accept": TAXII})
    assert answer.status_code == 401
    assert "Basic" in answer.headers["www-authenticate"]
    assert "token" in answer.json()["details"]["hint"]


def test_an_officers_password_is_never_accepted_as_a_taxii_password_attack(
    served: Served,
) -> None:
    with httpx.Client(base_url=f"{served.url}/taxii2/", timeout=30) as client:
        answer = client.get("", auth=("analyst", OFFICER_PASSWORD), headers={"accept": TAXII})
    assert answer.status_code == 401
    assert "not an API token" in answer.json()["description"]


def test_bearer_tokens_work_too_and_a_wrong_accept_is_406(served: Served) -> None:
    bearer = {"authorization": f"Bearer {served.tokens['observer']}"}
    with httpx.Client(base_url=f"{served.url}/taxii2/", timeout=30) as client:
        assert client.get("", headers={**bearer, "accept": TAXII}).status_code == 200
        refused = client.get("", headers={**bearer, "accept": "text/html"})
    assert refused.status_code == 406
    assert refused.json()["http_status"] == "406"


def test_a_read_scoped_token_cannot_write_even_for_an_analyst_attack(served: Served) -> None:
    collections = served.root("analyst-read").collections
    assert all(not c.can_write for c in collections)
    target = served.collection("analyst", "shared with all")
    with raw(served, "analyst-read") as client:
        answer = client.post(
            f"collections/{target.id}/objects/",
            json={"objects": objects_of(EXAMPLES[0])},
            headers={"content-type": TAXII, "accept": TAXII},
        )
    assert answer.status_code in (403, 404)
    assert answer.json()["http_status"] == str(answer.status_code)


def test_an_observer_sees_no_collection_above_its_clearance_attack(served: Served) -> None:
    titles = {c.title for c in served.root("observer").collections}
    assert "shared with all" in titles
    assert "JP+US" not in titles
    hidden = served.collection("analyst", "JP+US")
    with raw(served, "observer") as client:
        answer = client.get(f"collections/{hidden.id}/objects/", headers={"accept": TAXII})
    assert answer.status_code == 404
    assert "indicator--" not in answer.text


def test_a_status_is_readable_by_its_writer_only(served: Served) -> None:
    collection = served.collection("analyst", "shared with all")
    status = collection.add_objects({"objects": objects_of(EXAMPLES[3])}, wait_for_completion=False)
    with raw(served) as client:
        mine = client.get(f"status/{status.id}/", headers={"accept": TAXII})
    with raw(served, "observer") as client:
        theirs = client.get(f"status/{status.id}/", headers={"accept": TAXII})
    assert mine.status_code == 200 and mine.json()["status"] == "complete"
    assert theirs.status_code == 404
