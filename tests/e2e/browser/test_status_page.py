"""The status page in a real browser: a change goes through the gate to merged while the page
stays open (it updates itself), filters stay in the URL, a phone-sized screen has no
page-wide horizontal scroll, and the basics of accessibility hold, including the contrast of
the result colours against white text, computed from the stylesheet's own variables.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from keepgreen.web.ui.router import STATIC
from tests.e2e.browser.conftest import SCREENSHOTS
from tests.e2e.pipeline_support import (
    PLAYBOOK,
    approve,
    make_core,
    new_change,
    only_change,
    pipeline_server,
    status,
    wait_checked,
    wait_for,
)
from tests.support import Server

RESULT_COLOURS = ("success", "failure", "warning", "running", "waiting", "skipped")

# ``slow`` runs long enough in the gate for the page to show it running.
JOB_CONFIG = """\
- job:
    name: quick
    run: playbooks/quick.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- job:
    name: slow
    run: playbooks/slow.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- project:
    check:
      jobs:
        - quick
    gate:
      jobs:
        - quick
        - slow
"""


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(hex_colour: str) -> float:
    return 1.05 / (luminance(hex_colour) + 0.05)


def test_result_colours_are_readable_with_white_text() -> None:
    css = (STATIC / "keepgreen.css").read_text()
    for name in RESULT_COLOURS:
        found = re.search(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})", css)
        assert found, f"--{name} is not a six-digit colour in keepgreen.css"
        assert contrast_with_white(found.group(1)) >= 4.5, (name, found.group(1))


def assert_accessible(page: Page) -> None:
    """One h1, headings never skip a level, and every form control has a name."""
    levels = page.eval_on_selector_all(
        "h1, h2, h3, h4, h5, h6", "els => els.map(e => Number(e.tagName[1]))")
    assert levels.count(1) == 1, levels
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, levels
    controls = page.locator("main input:not([type=hidden]), main select, main textarea")
    for i in range(controls.count()):
        control = controls.nth(i)
        label = control.evaluate(
            "e => (e.labels && e.labels.length ? e.labels[0].textContent : '')"
            " || e.getAttribute('aria-label') || ''")
        assert label.strip(), control.evaluate("e => e.outerHTML")


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_empty_status_says_so_and_is_accessible(sqlite_server: Server, page: Page) -> None:
    page.goto(sqlite_server.url + "status?project=org/none")
    expect(page.get_by_role("heading", level=1)).to_have_text("Status")
    expect(page.get_by_label("Project")).to_have_value("org/none")
    expect(page.locator("#status-body")).to_contain_text("matches this filter")
    assert_accessible(page)
    page.goto(sqlite_server.url + "status")
    page.get_by_label("Change").fill("12")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*/status\?project=&change=12$"))
    # The live part polls with the same filter.
    expect(page.locator("#status-body")).to_have_attribute(
        "hx-get", "/status/fragment?project=&change=12")


@pytest.fixture(scope="module")
def gate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "gate")


def test_watch_a_change_go_through_the_gate_to_merged(gate_server: Server, make_user,
                                                      tmp_path: Path, page: Page) -> None:
    owner, core1, core2 = (make_user(gate_server, n) for n in ("owner", "core1", "core2"))
    project = f"org/s{uuid.uuid4().hex[:8]}"
    gate_server.create_project(project)
    make_core(gate_server, project, core1, core2)
    repo = owner.clone(project, tmp_path / "work")
    new_change(owner, repo, {".zuul.yaml": JOB_CONFIG,
                             "playbooks/quick.yaml": PLAYBOOK.format(command="true"),
                             "playbooks/slow.yaml": PLAYBOOK.format(command="sleep 8")},
               "Add gate jobs")
    number = only_change(gate_server, project, "Add gate jobs")
    wait_checked(gate_server, number)

    page.goto(gate_server.url + f"status?project={project}")
    page.evaluate("window.keptOpen = true")  # gone if the page were loaded again
    approve(gate_server, number, core1, core2)

    gate = page.locator("section.pipeline", has=page.get_by_role("heading", name="gate"))
    item = gate.locator(f"#item-{number}-1")
    expect(item).to_be_visible(timeout=90_000)
    expect(item).to_contain_text("Add gate jobs")
    expect(item.locator("li.job", has_text="slow")).to_be_visible(timeout=60_000)
    expect(item.locator(".result.RUNNING").first).to_be_visible(timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "status-page.png"), full_page=True)
    # Running jobs link to their build page.
    slow_link = item.get_by_role("link", name="slow")
    expect(slow_link).to_have_attribute("href", re.compile(r"^/build/[0-9a-f]+$"))

    # On a phone the items stack and nothing scrolls sideways.
    page.set_viewport_size({"width": 375, "height": 740})
    assert no_horizontal_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    expect(item).to_have_count(0, timeout=120_000)
    wait_for(f"change {number} to be merged", lambda: status(gate_server, number) == "MERGED",
             gate_server)
    assert page.evaluate("window.keptOpen") is True
    assert_accessible(page)
