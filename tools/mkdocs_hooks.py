"""MkDocs hook (mkdocs.yml ``hooks:``): a page under docs/ that ``nav`` does not list is still reachable.

A new ``docs/*.md`` neither breaks the strict build nor disappears: it is appended to the navigation
under "More" until someone gives it its place in ``nav``. ADRs are listed by ``adr/index.md`` instead.
"""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import Files
from mkdocs.structure.nav import Navigation, Section
from mkdocs.structure.pages import Page


def on_nav(nav: Navigation, config: Any, files: Files) -> Navigation:
    listed = {id(p) for p in nav.pages}
    missing: list[Page] = [
        f.page
        for f in files.documentation_pages()
        if isinstance(f.page, Page) and id(f.page) not in listed and not f.src_uri.startswith("adr/")
    ]
    if missing:
        more = Section("More", list(missing))
        for page in missing:
            page.parent = more
        nav.items.append(more)
        nav.pages.extend(missing)
    return nav
