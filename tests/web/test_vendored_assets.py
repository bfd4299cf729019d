"""The pages' vendored front-end files are exactly what the manifest pins, and nothing is fetched
from elsewhere: an offline install has every script, style, font and map it needs."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from tools import vendor_assets

STATIC = Path(vendor_assets.VENDOR).parent
MANIFEST = json.loads((vendor_assets.VENDOR / "MANIFEST.json").read_text())


def mismatches(root: Path, files: dict[str, str]) -> list[str]:
    """The files under ``root`` whose SHA-256 is not the one ``files`` pins."""
    return [
        path
        for path, digest in files.items()
        if hashlib.sha256((root / path).read_bytes()).hexdigest() != digest
    ]


def test_every_vendored_file_has_the_hash_the_manifest_pins() -> None:
    assert mismatches(vendor_assets.VENDOR, MANIFEST["files"]) == []


def test_no_vendored_file_is_missing_from_the_manifest_or_from_the_tree() -> None:
    on_disk = {
        p.relative_to(vendor_assets.VENDOR).as_posix()
        for p in vendor_assets.VENDOR.rglob("*")
        if p.is_file() and p.name != "MANIFEST.json"
    }
    assert on_disk == set(MANIFEST["files"])


def test_the_manifest_names_the_pinned_packages_with_their_licences() -> None:
    pinned = {(p.name, p.version, p.integrity) for p in vendor_assets.PACKAGES}
    listed = {(p["name"], p["version"], p["integrity"]) for p in MANIFEST["packages"]}
    assert listed == pinned
    for package in vendor_assets.PACKAGES:
        assert (vendor_assets.VENDOR / package.folder / "LICENSE").is_file(), package.name


def test_the_hash_check_names_a_file_with_one_changed_byte(tmp_path: Path) -> None:
    name = "leaflet-1.9.4/leaflet.js"
    copy = tmp_path / name
    copy.parent.mkdir(parents=True)
    changed = bytearray((vendor_assets.VENDOR / name).read_bytes())
    changed[len(changed) // 2] ^= 1
    copy.write_bytes(bytes(changed))
    assert mismatches(tmp_path, {name: MANIFEST["files"][name]}) == [name]


@pytest.mark.parametrize("suffix", [".html", ".js", ".css"])
def test_no_page_asset_or_template_refers_to_another_origin(suffix: str) -> None:
    web = STATIC.parent
    remote = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.IGNORECASE)
    offenders = [
        str(path.relative_to(web))
        for path in web.rglob(f"*{suffix}")
        if "vendor" not in path.parts and remote.search(path.read_text())
    ]
    assert offenders == []


def test_the_font_style_sheets_name_only_shipped_files() -> None:
    for package in vendor_assets.PACKAGES:
        if not package.name.startswith("@fontsource/"):
            continue
        sheet = vendor_assets.VENDOR / package.folder / "400.css"
        for target in re.findall(r"url\(([^)]+)\)", sheet.read_text()):
            assert (sheet.parent / target).is_file(), (package.name, target)
