"""Photograph each Studio page against the demo registry, for docs/studio.md:

    python -m tests.studio.screenshots [OUT_DIR]    # default docs/images

Not a test: it writes studio-agents.png, studio-workflows.png, studio-traces.png,
studio-memory.png and studio-vectors.png (1280x760)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from tests.studio.demo import ServerThread

CHROMIUM = os.environ.get("MASTRA_CHROMIUM", "/usr/bin/chromium")


def agents(page: Page, url: str) -> None:
    page.goto(f"{url}/#/agents/weather")
    page.click("[data-thread=t-oslo]")
    page.wait_for_selector("#chat-log .msg.user")
    page.fill("#prompt", "And the weather in Lisbon?")
    page.press("#prompt", "Enter")
    page.wait_for_selector(".msg.assistant >> nth=-1 >> .runinfo", timeout=15_000)
    page.locator(".tool summary").last.click()


def traces(page: Page, url: str) -> None:
    page.locator(".trace-link").last.click()
    page.wait_for_selector("#waterfall [data-span='http.server']", timeout=15_000)
    page.locator("#waterfall [data-span='gen_ai.chat']").last.click()


def workflows(page: Page, url: str) -> None:
    page.goto(f"{url}/#/workflows/approval")
    page.fill("#workflow-input", '{"customer": "ada", "amount": 120}')
    page.click("#start-run")
    page.wait_for_selector("form.resume", timeout=15_000)
    page.click(".gnode[data-step=price]")


def memory(page: Page, url: str) -> None:
    page.goto(f"{url}/#/memory")
    page.click("#memory-threads [data-thread=t-oslo]")
    page.wait_for_selector("#memory-messages")


def vectors(page: Page, url: str) -> None:
    page.goto(f"{url}/#/vectors")
    page.fill("#query-vector", "[0.9, 0.3, 0.1, 0.1]")
    page.click("#query-run")
    page.wait_for_selector("#query-results")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with ServerThread() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        for name, show in (
            ("agents", agents),
            ("traces", traces),
            ("workflows", workflows),
            ("memory", memory),
            ("vectors", vectors),
        ):
            show(page, server.url)
            page.wait_for_timeout(300)  # let the last frame paint
            page.screenshot(path=str(out / f"studio-{name}.png"))
            print(f"wrote {out / f'studio-{name}.png'}")
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images"))
