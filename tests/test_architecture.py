"""docs/architecture.md is the newcomer's map: every package of archive/ and every
view module of archive/web must be on it, and every file it names must exist."""

from __future__ import annotations

import re

from tests.helpers import REPO

ARCHIVE = REPO / "archive"
MAP = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_every_package_is_on_the_map():
    packages = sorted(
        p.name
        for p in ARCHIVE.iterdir()
        if (p / "__init__.py").is_file() and p.name not in ("migrations",)
    )
    missing = [name for name in packages if not re.search(rf"\b{name}/", MAP)]
    assert missing == []


def test_every_module_of_the_web_layer_is_on_the_map():
    modules = sorted(
        str(p.relative_to(ARCHIVE))
        for p in (ARCHIVE / "web").rglob("*.py")
        if p.name != "__init__.py"
    )
    assert [path for path in modules if path.removesuffix(".py") not in MAP] == []


def test_every_view_module_with_routes_has_a_row_in_the_table():
    routed = sorted(
        str(p.relative_to(ARCHIVE))
        for p in (ARCHIVE / "web").rglob("*.py")
        if re.search(r"@bp\.(get|post|patch|put|delete|route)\(", p.read_text(encoding="utf-8"))
    )
    rows = set(re.findall(r"^\| [^|]+ \| `(web/[^`]+)` \|", MAP, re.M))
    assert [path for path in routed if path not in rows] == []


def test_every_file_named_on_the_map_exists():
    named = set(
        re.findall(
            r"`((?:web|transcripts|recordings|interviews|transcription|search|"
            r"consent|accounts|exports|publishing|operations)/[\w/.-]+\.py)`",
            MAP,
        )
    )
    assert named, "the map names no files"
    assert sorted(path for path in named if not (ARCHIVE / path).is_file()) == []
