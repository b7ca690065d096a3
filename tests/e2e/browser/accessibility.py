"""Accessibility basics every page is checked for: form controls with names, one h1,
headings that do not skip levels."""

from __future__ import annotations

from playwright.sync_api import Page

_UNNAMED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea')).filter(el => {
  const labelled = el.labels && Array.from(el.labels).some(l => l.textContent.trim());
  const aria = (el.getAttribute('aria-label') || '').trim();
  const by = (el.getAttribute('aria-labelledby') || '').split(' ')
    .map(id => document.getElementById(id)).some(t => t && t.textContent.trim());
  return !(labelled || aria || by || (el.getAttribute('title') || '').trim());
}).map(el => el.outerHTML.slice(0, 120))"""

_HEADINGS = """() => Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'))
  .filter(h => !h.closest('dialog')).map(h => Number(h.tagName[1]))"""


def assert_accessible_basics(page: Page) -> None:
    unnamed = page.evaluate(_UNNAMED)
    assert unnamed == [], f"form controls without an accessible name: {unnamed}"
    levels: list[int] = page.evaluate(_HEADINGS)
    assert levels.count(1) == 1, f"expected one h1, found heading levels {levels}"
    assert levels[0] == 1, f"the first heading is h{levels[0]}, not h1"
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"heading h{after} follows h{before}: {levels}"
