"""Vendor the pages' front-end assets from the npm registry into the package.

Nodes run air-gapped, so every script, style, font and map the pages use is committed under
``src/parley/web/static/vendor/``. This tool fetches each package at its pinned version with
``npm pack``, refuses a tarball whose SHA-512 is not the pinned ``integrity``, copies the files
the pages use (with each package's licence), and writes ``MANIFEST.json``: every package with its
version, integrity and licence, and every vendored file with its SHA-256.
``tests/web/test_vendored_assets.py`` checks the files against the manifest.

Run it only to change a version: ``.venv/bin/python tools/vendor_assets.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "src" / "parley" / "web" / "static" / "vendor"


@dataclass(frozen=True)
class Package:
    """One npm package: pinned version and integrity, the files taken, their licence."""

    name: str
    version: str
    integrity: str
    licence: str
    files: tuple[str, ...]  # globs inside the tarball's package/ folder

    @property
    def folder(self) -> str:
        """Where its files go under ``VENDOR``: the name without its scope, and the version."""
        return f"{self.name.rsplit('/', 1)[-1]}-{self.version}"


PACKAGES = (
    Package(
        "leaflet",
        "1.9.4",
        "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
        "BSD-2-Clause",
        ("dist/leaflet.js", "dist/leaflet.css", "LICENSE"),
    ),
    Package(
        "topojson-client",
        "3.1.0",
        "sha512-605uxS6bcYxGXw9qi62XyrV6Q3xwbndjachmNxu8HWTtVPxZfEJN9fd/SZS1Q54Sn2y0TMyMxFj/cJINqGHrKw==",
        "ISC",
        ("dist/topojson-client.min.js", "LICENSE"),
    ),
    Package(
        "world-atlas",
        "2.0.2",
        "sha512-IXfV0qwlKXpckz1FhwXVwKRjiIhOnWttOskm5CtxMsjgE/MXAYRHWJqgXOpM8IkcPBoXnyTU5lFHcYa5ChG0LQ==",
        "ISC (data: Natural Earth, public domain)",
        ("countries-50m.json", "LICENSE"),
    ),
    Package(
        "@fontsource/noto-sans-jp",
        "5.3.0",
        "sha512-OZbBzZ8LrFRs2RFT2Cc0HUV2C2ZeSfyEXhDJWR0EZuZaraJfRubpvrFmUnCljuBDEkw8Vn6CE/+nf9dj9b+0lg==",
        "OFL-1.1",
        ("400.css", "files/*-400-normal.woff2", "LICENSE"),
    ),
    Package(
        "@fontsource/noto-sans-kr",
        "5.3.0",
        "sha512-/JnpTjaCOXW7xUoqOyCVYSr05VOkDy5Yla9O+WAEiS7u+yYLsmHoqj6v1W0bf91G8G3XA2+NnRS3CX2Tf/FVZg==",
        "OFL-1.1",
        ("400.css", "files/*-400-normal.woff2", "LICENSE"),
    ),
    Package(
        "@fontsource/noto-sans-sc",
        "5.3.0",
        "sha512-HeqIlGm0+ohOKxZLuHj1qW6r6avHH0OWdKERAcSDI0RQ+MXrteuLKA+M+5eOA8rYy0MFvOR5AT0fQo2rUkye0Q==",
        "OFL-1.1",
        ("400.css", "files/*-400-normal.woff2", "LICENSE"),
    ),
)

# Fontsource lists a WOFF fallback after each WOFF2 source; every browser the pages support reads
# WOFF2, so only those files are shipped and the fallback is cut from the style sheet.
WOFF_FALLBACK = re.compile(r", url\(\./files/[^)]+\.woff\) format\('woff'\)")


def _integrity(tarball: Path) -> str:
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def _fetch(package: Package, work: Path) -> Path:
    """The package's unpacked folder, after its tarball matched the pinned integrity."""
    spec = f"{package.name}@{package.version}"
    out = subprocess.run(  # noqa: S603 (a fixed npm command; the spec is pinned above)
        ["npm", "pack", spec, "--json", "--pack-destination", str(work)],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
    )
    tarball = work / json.loads(out.stdout)[0]["filename"]
    found = _integrity(tarball)
    if found != package.integrity:
        raise SystemExit(f"{spec}: integrity {found} is not the pinned {package.integrity}")
    unpacked = work / package.folder
    with tarfile.open(tarball) as archive:
        archive.extractall(unpacked, filter="data")
    return unpacked / "package"


def _copy(package: Package, source: Path) -> None:
    target = VENDOR / package.folder
    for pattern in package.files:
        matched = sorted(source.glob(pattern))
        if not matched:
            raise SystemExit(f"{package.name}: nothing matches {pattern}")
        for path in matched:
            relative = path.relative_to(source)
            dest = target / (relative.name if relative.parts[0] == "dist" else relative)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".css" and package.name.startswith("@fontsource/"):
                dest.write_text(WOFF_FALLBACK.sub("", path.read_text()))
            else:
                shutil.copyfile(path, dest)


def manifest() -> dict[str, object]:
    """The manifest of what is under ``VENDOR`` now."""
    files = {
        path.relative_to(VENDOR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(VENDOR.rglob("*"))
        if path.is_file() and path.name != "MANIFEST.json"
    }
    packages = [
        {
            "name": p.name,
            "version": p.version,
            "integrity": p.integrity,
            "licence": p.licence,
            "folder": p.folder,
        }
        for p in PACKAGES
    ]
    return {"packages": packages, "files": files}


def main() -> None:
    """Fetch, check and copy every package, then write the manifest."""
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    VENDOR.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        for package in PACKAGES:
            _copy(package, _fetch(package, Path(tmp)))
            print(f"vendored {package.name}@{package.version}", file=sys.stderr)
    (VENDOR / "MANIFEST.json").write_text(json.dumps(manifest(), indent=1) + "\n")


if __name__ == "__main__":
    main()
