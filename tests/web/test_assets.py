"""Static checks of the browser assets: no HTML sinks for data, nothing loaded from elsewhere."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest

ROOT = Path(str(files("streamhil_web")))
SCRIPTS = sorted(ROOT.rglob("*.js"))
PAGES = sorted(ROOT.rglob("*.html"))
STYLES = sorted(ROOT.rglob("*.css"))

# every way to turn a string into markup or code
HTML_SINKS = re.compile(r"\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\s*\(|new Function\s*\(|createContextualFragment|srcdoc")
EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/""", re.I)
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def test_the_assets_are_there() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in SCRIPTS + PAGES + STYLES}
    for expected in ("lib/protocol.js", "lib/connection.js", "lib/render.js", "chat/index.html", "chat/chat.js",
                     "dashboard/index.html", "dashboard/dashboard.js", "style.css"):
        assert expected in names


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_scripts_never_parse_html(path: Path) -> None:
    source = path.read_text()
    assert not HTML_SINKS.findall(source), f"{path.name} uses an HTML sink"


@pytest.mark.parametrize("path", SCRIPTS + PAGES + STYLES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_nothing_is_loaded_from_another_host(path: Path) -> None:
    source = path.read_text().replace(SVG_NAMESPACE, "")
    assert not EXTERNAL.findall(source), f"{path.name} refers to another host (CDN, font…)"
    assert "@import" not in source and "@font-face" not in source


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_pages_load_one_module_by_relative_url(path: Path) -> None:
    source = path.read_text()
    scripts = re.findall(r"<script\b[^>]*>", source)
    assert len(scripts) == 1 and 'type="module"' in scripts[0]
    assert not re.search(r'(?:src|href)="/', source), "absolute paths break a mount prefix"
    assert 'name="viewport"' in source and 'lang="en"' in source
