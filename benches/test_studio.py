"""The Studio's budgets, measured in Chromium against a loopback server (tests/studio/demo.py):

- the JS + CSS it ships, uncompressed: <= 150 KB;
- first contentful paint of the page: < 200 ms (median of fresh loads);
- while a 2,000-token answer streams in, no main-thread long task (> 50 ms), as a
  PerformanceObserver('longtask') sees them.

    python -m pytest benches/test_studio.py --benchmark-only --benchmark-columns=median,rounds

Figures go to benches/RESULTS.md ("Studio"). Chromium: /usr/bin/chromium or MASTRA_CHROMIUM.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from tests.studio.demo import ServerThread

from mastra.server.studio import STUDIO

CHROMIUM = os.environ.get("MASTRA_CHROMIUM", "/usr/bin/chromium")
ASSET_BUDGET = 150 * 1024
FCP_BUDGET_MS = 200.0
LONG_TASK_MS = 50.0
TOKENS = 2000
LOADS = 15


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"the Studio benchmark needs Chromium at {CHROMIUM} (or MASTRA_CHROMIUM)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with ServerThread(mastra={"long_words": TOKENS}) as running:
        yield running.url


def asset_bytes() -> dict[str, int]:
    """Bytes of every JS and CSS file the Studio ships."""
    return {
        str(path.relative_to(STUDIO)): path.stat().st_size
        for path in sorted(STUDIO.rglob("*"))
        if path.suffix in (".js", ".css")
    }


def test_studio_asset_budget(benchmark):
    sizes = benchmark(asset_bytes)
    total = sum(sizes.values())
    benchmark.extra_info.update(total_bytes=total, files=len(sizes))
    assert total <= ASSET_BUDGET, f"JS + CSS is {total} bytes; the budget is {ASSET_BUDGET}"


def first_contentful_paint(browser: Browser, url: str) -> float:
    """Load the Studio in a fresh context (no cache); its FCP in milliseconds."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
    fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
    context.close()
    return float(fcp)


def test_studio_first_contentful_paint(benchmark, browser, server):
    first_contentful_paint(browser, server)  # warm the server's file cache
    samples = [first_contentful_paint(browser, server) for _ in range(LOADS)]
    median = statistics.median(samples)
    benchmark.extra_info.update(
        fcp_median_ms=round(median, 1), fcp_max_ms=round(max(samples), 1), loads=LOADS
    )
    benchmark.pedantic(first_contentful_paint, args=(browser, server), rounds=5, iterations=1)
    assert median < FCP_BUDGET_MS, f"first contentful paint {median:.0f} ms (median)"


OBSERVE_LONG_TASKS = """() => {
  window.longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
  }).observe({ type: "longtask" });
}"""


def stream_long_answer(browser: Browser, url: str) -> dict[str, float]:
    """Send a prompt to the agent answering 2,000 tokens; the long tasks seen meanwhile."""
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    page = context.new_page()
    page.goto(f"{url}/#/agents/chatty")
    page.wait_for_selector("#chat-log p.hint")
    page.evaluate(OBSERVE_LONG_TASKS)
    page.fill("#prompt", "talk")
    started = page.evaluate("performance.now()")
    page.press("#prompt", "Enter")
    page.wait_for_selector(".runinfo", timeout=120_000)
    took = page.evaluate("performance.now()") - started
    words = page.evaluate("document.querySelector('.msg.assistant .text').textContent")
    tasks = page.evaluate("window.longTasks")
    context.close()
    assert len(words.split()) == TOKENS
    return {"stream_ms": took, "long_tasks": len(tasks), "longest_ms": max(tasks, default=0.0)}


def test_studio_stream_has_no_long_tasks(benchmark, browser, server):
    seen = benchmark.pedantic(stream_long_answer, args=(browser, server), rounds=3, iterations=1)
    benchmark.extra_info.update(tokens=TOKENS, **{k: round(v, 1) for k, v in seen.items()})
    assert seen["long_tasks"] == 0, f"{seen['long_tasks']} long tasks, longest {seen['longest_ms']}"
