"""A node home's configuration and files: its own URLs, paths relative to it, private modes."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from parley.core.errors import ParleyError
from parley.node.home import NodeConfig, NodeHome
from parley.node.node import Node
from tests.node.conftest import hotline


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_config(home: Path, server: str) -> NodeHome:
    home.mkdir(mode=0o700)
    (home / "parley.toml").write_text(
        '[node]\nparty = "JP"\nname = "JP centre"\nnetwork = "parley-test"\n'
        '[database]\nurl = "sqlite+pysqlite:///parley.db"\n'
        f'[server]\nhost = "127.0.0.1"\nport = 8700\n{server}\n',
        encoding="utf-8",
    )
    return NodeHome(home)


def test_server_urls_round_trip_through_parley_toml(tmp_path: Path) -> None:
    home = write_config(tmp_path / "jp", 'url = ["https://jp.example:8700/", "http://10.0.0.5"]')
    config = home.load_config()
    assert config.urls == ("https://jp.example:8700", "http://10.0.0.5")
    assert config.to_toml()["server"]["url"] == ["https://jp.example:8700", "http://10.0.0.5"]


def test_a_single_url_string_is_accepted(tmp_path: Path) -> None:
    home = write_config(tmp_path / "jp", 'url = "https://jp.example"')
    assert home.load_config().urls == ("https://jp.example",)


def test_a_config_without_urls_has_none(tmp_path: Path) -> None:
    assert write_config(tmp_path / "jp", "").load_config().urls == ()


@pytest.mark.parametrize(
    "value",
    [
        '"ftp://jp.example"',
        '"https://"',
        '"https://jp.example/parley"',
        '"https://jp.example/?a=1"',
        '"https://jp.example#top"',
        '"https://user:pw@jp.example"',
        '"https://jp.example:99999"',
        '"jp.example:8700"',
        "42",
        '["https://jp.example", 7]',
    ],
)
def test_a_bad_server_url_names_the_setting_and_the_value(tmp_path: Path, value: str) -> None:
    home = write_config(tmp_path / "jp", f"url = {value}")
    with pytest.raises(ParleyError) as raised:
        home.load_config()
    assert "[server] url" in raised.value.message
    shown = value.strip('"[]').split(",")[-1].strip().strip('"')
    assert shown in raised.value.message


def test_the_default_database_is_written_relative_to_the_home(tmp_path: Path) -> None:
    node = Node.create(tmp_path / "jp", party="JP", name="JP centre", network="parley-test")
    node.close()
    written = (tmp_path / "jp" / "parley.toml").read_text(encoding="utf-8")
    assert 'url = "sqlite+pysqlite:///parley.db"' in written
    assert str(tmp_path) not in written
    assert NodeHome(tmp_path / "jp").load_config().database == (
        f"sqlite+pysqlite:///{(tmp_path / 'jp').resolve() / 'parley.db'}"
    )


def test_an_old_home_with_an_absolute_database_path_still_opens(tmp_path: Path) -> None:
    Node.create(tmp_path / "jp", party="JP", name="JP centre", network="parley-test").close()
    config = tmp_path / "jp" / "parley.toml"
    absolute = f"sqlite+pysqlite:///{(tmp_path / 'jp').resolve() / 'parley.db'}"
    config.write_text(config.read_text().replace("sqlite+pysqlite:///parley.db", absolute))
    node = Node.open(tmp_path / "jp")
    try:
        assert node.config.database == absolute and node.size() == 2
    finally:
        node.close()


def test_an_explicit_database_path_is_kept_as_given(tmp_path: Path) -> None:
    elsewhere = tmp_path / "data" / "jp.db"
    elsewhere.parent.mkdir()
    url = f"sqlite+pysqlite:///{elsewhere}"
    Node.create(tmp_path / "jp", party="JP", name="JP centre", database=url).close()
    assert f'url = "{url}"' in (tmp_path / "jp" / "parley.toml").read_text()
    assert elsewhere.exists() and not (tmp_path / "jp" / "parley.db").exists()


def test_copied_home_opens_its_own_database(tmp_path: Path) -> None:
    Node.create(tmp_path / "jp", party="JP", name="JP centre", network="parley-test").close()
    shutil.copytree(tmp_path / "jp", tmp_path / "copy")
    original_size = (tmp_path / "jp" / "parley.db").stat().st_size
    copy = Node.open(tmp_path / "copy")
    try:
        assert copy.config.database.endswith(f"{(tmp_path / 'copy').resolve()}/parley.db")
        copy.append([hotline("CN", "only in the copy")])
    finally:
        copy.close()
    assert (tmp_path / "jp" / "parley.db").stat().st_size == original_size


def test_node_create_makes_the_home_and_its_files_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        node = Node.create(tmp_path / "jp", party="JP", name="JP centre")
        node.append([hotline("CN", "Keep clear")])
        home = tmp_path / "jp"
        assert mode(home) == 0o700
        assert mode(home / "parley.toml") == 0o600
        for name in ("parley.db", "parley.db-wal", "parley.db-shm"):
            assert (home / name).exists(), name
            assert mode(home / name) == 0o600, name
        node.close()
    finally:
        os.umask(old)


@pytest.mark.parametrize(
    ("target", "loose", "hint"),
    [
        ("", 0o755, "chmod 700"),
        ("parley.db", 0o644, "chmod 600"),
        ("parley.db", 0o640, "chmod 600"),
    ],
)
def test_node_open_refuses_a_home_open_to_other_users(
    tmp_path: Path, target: str, loose: int, hint: str
) -> None:
    Node.create(tmp_path / "jp", party="JP", name="JP centre").close()
    path = (tmp_path / "jp" / target).resolve()
    path.chmod(loose)
    with pytest.raises(ParleyError) as raised:
        Node.open(tmp_path / "jp")
    assert str(path) in raised.value.message and f"{loose:o}" in raised.value.message
    assert raised.value.hint == f"{hint} {path}"


def test_a_config_value_keeps_its_own_urls_when_written(tmp_path: Path) -> None:
    config = NodeConfig(
        party="JP",
        name="JP",
        network="parley-test",
        database="sqlite:///x.db",
        urls=("https://jp.example",),
    )
    assert config.to_toml()["server"] == {
        "host": "127.0.0.1",
        "port": 8700,
        "url": ["https://jp.example"],
    }
