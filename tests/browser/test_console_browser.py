"""The web console in a real browser (Chromium, driven by Playwright) against a separate
engine process: sign in, find a failed run, read its error, retry it to success, start
a workflow from its form (one bad field, then good ones), and find every page closed
without a session. Screenshots of the main pages go to docs/screenshots (README)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect, sync_playwright

from tests.support.engine import API_KEY, engine_process_env
from tests.support.processes import CliProcess

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
FLAKY = """\
name: nightly-sync
description: Syncs the board; its first try fails.
steps:
  - {id: read, uses: core.echo, with: {items: 12}}
  - id: write
    uses: core.fail
    needs: [read]
    retry: {attempts: 1}
    with: {code: upstream_unavailable, message: the tracker did not answer, times: 1}
"""
TYPED = """\
name: greet
description: >-
  Greets someone, a number of times, with the greeting of their choice, then waits a
  moment between greetings so that nobody is greeted twice in the same second.
inputs:
  name: {type: string, description: Who to greet}
  times: {type: integer, default: 1, description: How many times}
steps:
  - {id: hello, uses: core.echo, with: {message: "Hello, {{ inputs.name }}!"}}
output: {message: "{{ steps.hello.output.message }}", times: "{{ inputs.times }}"}
"""


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_console_in_a_browser(empty_database_url: str, tmp_path: Path) -> None:
    """What a user does in the console, clicked through in Chromium."""
    base, env = engine_process_env(
        empty_database_url, tmp_path, {"nightly-sync.yaml": FLAKY, "greet.yaml": TYPED}
    )
    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as engine:
        engine.wait_http(f"{base}/readyz")
        auth = {"Authorization": f"Bearer {API_KEY}"}
        failed = httpx.post(
            f"{base}/v1/workflows/nightly-sync/runs?wait=30", json={}, headers=auth
        ).json()
        assert failed["status"] == "failed"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ["DW_CHROMIUM"], args=["--no-sandbox"]
            )
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 800})
                page.goto(f"{base}/runs")
                expect(page).to_have_url(re.compile(r"/sign-in\?next="))
                shot(page, "sign-in")
                page.fill("#api_key", API_KEY)
                page.click("button[type=submit]")
                expect(page.locator("h1")).to_have_text("Runs")

                page.select_option("select[name=status]", "failed")
                page.click("form.filters button")
                page.click(f"a[href='/runs/{failed['id']}']")
                expect(page.locator("h1")).to_contain_text("nightly-sync")
                expect(page.locator("tr.detail .error").first).to_contain_text(
                    "the tracker did not answer"
                )
                shot(page, "failed-run")
                page.click("text=Retry from the failed step")
                expect(page.locator("h1 .status")).to_have_text("succeeded", timeout=20_000)
                shot(page, "run")

                page.goto(f"{base}/workflows/greet")
                page.fill("#in-name", "Ada")
                page.fill("#in-times", "many")
                page.click("form.card button[type=submit]")
                expect(page.locator("#err-times")).to_contain_text("must be a whole number")
                page.fill("#in-times", "3")
                page.click("form.card button[type=submit]")
                expect(page.locator("h1")).to_contain_text("greet")
                expect(page.locator("h1 .status")).to_have_text("succeeded", timeout=20_000)
                expect(page.locator("pre").first).to_contain_text("Hello, Ada!")
                page.goto(f"{base}/workflows/greet")
                shot(page, "workflow")
                page.goto(f"{base}/runs")
                shot(page, "runs")
                # A long description wraps in its cell: the table needs no scrolling.
                page.goto(f"{base}/workflows")
                table = page.locator("table")
                expect(table).to_contain_text("nobody is greeted twice")
                overflow = table.evaluate("t => t.scrollWidth - t.clientWidth")
                assert overflow <= 0, f"the workflows table scrolls by {overflow}px"

                phone = browser.new_page(viewport={"width": 390, "height": 844})
                phone.context.add_cookies(page.context.cookies())
                phone.goto(f"{base}/runs/{failed['id']}")
                expect(phone.locator("h1")).to_contain_text("nightly-sync")
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"the run page is {width}px wide on a phone"

                stranger = browser.new_context().new_page()
                stranger.goto(f"{base}/runs/{failed['id']}")
                expect(stranger).to_have_url(re.compile(r"/sign-in\?next="))
                expect(stranger.locator("body")).not_to_contain_text("nightly-sync")
            finally:
                browser.close()
        assert engine.stop() == 0
