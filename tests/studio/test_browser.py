"""The Studio in a real Chromium against a real server on 127.0.0.1 (tests/studio/demo.py):
streamed chat with a tool card and its trace, a workflow suspended and resumed from its form,
thread history, the API key asked for on a 401, a failing model's message, memory and vector
pages. Chromium must be installed (Debian: ``apt-get install chromium``); the path can be set
with MASTRA_CHROMIUM."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from mastra.server import ApiKeyAuth
from tests.studio.demo import RELEASE_MAP, ServerThread

CHROMIUM = os.environ.get("MASTRA_CHROMIUM", "/usr/bin/chromium")
ANSWER = (
    "It is 18 °C in Lisbon under clear skies, with a light breeze from the west; "
    "a coat is not needed this afternoon."
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"the Studio browser tests need Chromium at {CHROMIUM} "
            "(apt-get install chromium, or set MASTRA_CHROMIUM to its path)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with ServerThread() as running:
        yield running.url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


RECORD_TEXT = """() => {
  window.snapshots = [];
  const log = document.getElementById("chat-log");
  new MutationObserver(() => {
    const texts = [...log.querySelectorAll(".msg.assistant .text")];
    const text = texts.map((e) => e.textContent).join("");
    window.snapshots.push({ text, finished: Boolean(log.querySelector(".runinfo")) });
  }).observe(log, { childList: true, subtree: true, characterData: true });
}"""


def open_agent(page: Page, url: str, agent: str) -> None:
    page.goto(f"{url}/#/agents/{agent}")
    expect(page.locator("#chat-log p.hint")).to_be_visible()  # the thread is loaded


def send(page: Page, prompt: str) -> None:
    page.fill("#prompt", prompt)
    page.press("#prompt", "Enter")


def test_chat_streams_tokens_shows_the_tool_card_and_opens_the_trace(page: Page, server: str):
    open_agent(page, server, "weather")
    page.evaluate(RECORD_TEXT)
    send(page, "Weather in Lisbon?")
    expect(page.locator(".msg.assistant .runinfo")).to_be_visible(timeout=10_000)
    assert page.locator(".msg.assistant .text").inner_text() == ANSWER

    partial = {s["text"] for s in page.evaluate("window.snapshots") if not s["finished"]}
    partial = {t for t in partial if t and t != ANSWER}
    assert len(partial) >= 2, f"tokens arrived in {len(partial)} DOM updates before the end"
    assert all(ANSWER.startswith(t) for t in partial)

    card = page.locator(".tool[data-tool=get_weather]")
    expect(card.locator(".st")).to_have_text("ok")
    expect(card.locator(".dur")).to_have_text(re.compile(r"\d"))
    card.locator("summary").click()
    expect(card.locator("pre").first).to_contain_text('"city":"Lisbon"')
    expect(card.locator("pre").nth(1)).to_contain_text('"temp_c":18')
    info = page.locator(".msg.assistant .runinfo")
    expect(info).to_contain_text("scripted-weather")
    expect(info).to_contain_text("stop")
    expect(info).to_contain_text(re.compile(r"\d+ in · \d+ out"))

    info.locator(".trace-link").click()
    waterfall = page.locator("#waterfall")
    expect(waterfall.locator("[data-span='http.server']")).to_be_visible(timeout=10_000)
    for name in ("agent.run", "tool.call", "memory.load", "memory.save"):
        expect(waterfall.locator(f"[data-span='{name}']")).to_have_count(1)
    expect(waterfall.locator("[data-span='gen_ai.chat']")).to_have_count(2)
    waterfall.locator("[data-span='gen_ai.chat']").last.click()
    detail = page.locator("#span-detail .genai")
    expect(detail).to_contain_text("gen_ai.request.model")
    expect(detail).to_contain_text("scripted-weather")
    expect(detail).to_contain_text("gen_ai.usage.output_tokens")
    expect(detail).to_contain_text('["stop"]')

    page.goto(f"{server}/#/traces")
    row = page.locator("#traces tbody tr", has_text="/api/agents/{agent_id}/stream").first
    expect(row).to_contain_text("agent weather")
    expect(row).to_contain_text(re.compile(r"\d+ ms"))
    expect(row.locator(".st")).to_have_text("ok")


def test_a_workflow_suspends_is_resumed_from_its_form_and_completes(page: Page, server: str):
    page.goto(f"{server}/#/workflows/batch")
    graph = page.locator("#graph")
    expect(graph.locator(".glabel")).to_have_text(["dountil ↻", "foreach \u00d72"])

    page.goto(f"{server}/#/workflows/approval")
    expect(graph.locator(".glabel")).to_have_text(["parallel", "branch"])
    expect(graph.locator(".gnode[data-step=review]")).to_contain_text("when is_large")
    page.fill("#workflow-input", '{"customer": "ada", "amount": "lots"}')
    expect(page.locator("#input-problems")).to_contain_text("$.amount: expected integer")
    expect(page.locator("#start-run")).to_be_disabled()
    page.fill("#workflow-input", '{"customer": "ada", "amount": 120}')
    expect(page.locator("#input-problems")).to_have_text("")
    page.click("#start-run")

    form = page.locator("form.resume[data-step=review]")
    expect(form).to_contain_text("approve an order of 144.00?", timeout=10_000)
    expect(page.locator("#run-status")).to_have_text("suspended")
    expect(graph.locator(".gnode[data-step=price]")).to_have_class(re.compile("success"))
    expect(graph.locator(".gnode[data-step=review]")).to_have_class(re.compile("suspended"))
    form.locator("#resume-review-approved").check()
    form.locator("#resume-review-comment").fill("fine by me")
    form.locator("button[type=submit]").click()

    expect(page.locator("#run-status")).to_have_text("success", timeout=10_000)
    expect(page.locator("#run")).to_contain_text("approved 144.00 (reviewer)")
    expect(graph.locator(".gnode[data-step=review]")).to_have_class(re.compile("success"))
    expect(graph.locator(".gnode[data-step=receipt]")).to_have_class(re.compile("success"))
    expect(page.locator("#runs tbody tr.on .st")).to_have_text("success")


def test_map_nodes_show_running_finished_and_failed_like_steps(page: Page, server: str):
    RELEASE_MAP.clear()
    page.goto(f"{server}/#/workflows/reshape")
    graph = page.locator("#graph")
    held, limit = (
        graph.locator(".gnode[data-step=mapping_0]"),
        graph.locator(".gnode[data-step=mapping_1]"),
    )
    expect(held).to_contain_text("fn held")
    expect(limit).to_contain_text("fn within_limit")
    page.fill("#workflow-input", '{"customer": "ada", "amount": 120}')
    page.click("#start-run")
    expect(held).to_have_class(re.compile("running"))
    expect(held.locator(".state")).to_have_text("running")
    expect(limit.locator(".state")).to_have_text("")
    RELEASE_MAP.set()
    expect(page.locator("#run-status")).to_have_text("success", timeout=10_000)
    for node in (held, limit, graph.locator(".gnode[data-step=label]")):
        expect(node).to_have_class(re.compile("success"))
    expect(page.locator("#run")).to_contain_text("ada: 120")
    rows = page.locator("#run-steps tr td:first-child")
    expect(rows).to_have_text(["mapping_0", "mapping_1", "label"])  # as they ran
    expect(page.locator(".side .list li.on")).to_contain_text("3 steps")
    limit.click()
    expect(page.locator("#step-detail")).to_contain_text('"amount":120')

    page.fill("#workflow-input", '{"customer": "bob", "amount": 5000}')
    page.click("#start-run")
    expect(page.locator("#run-status")).to_have_text("failed", timeout=10_000)
    expect(held).to_have_class(re.compile("success"))
    expect(limit).to_have_class(re.compile("failed"))
    expect(limit.locator(".state")).to_have_text("failed")
    expect(graph.locator(".gnode[data-step=label]")).not_to_have_class(re.compile("success"))
    expect(page.locator("#run .error-box")).to_contain_text("amount 5000 is over the 1000 limit")
    expect(page.locator("#run-steps")).to_contain_text("mapping_1")


def test_switching_threads_shows_their_history(page: Page, server: str):
    open_agent(page, server, "weather")
    page.click("[data-thread=t-oslo]")
    log = page.locator("#chat-log")
    expect(log.locator(".msg.user")).to_have_text(["Weather in Oslo?"])
    expect(log.locator(".msg.assistant .text")).to_have_text(["It is 18 °C in Oslo."])
    expect(log.locator(".tool[data-tool=get_weather] .st")).to_have_text("ok")
    expect(page.locator("#working-memory")).to_have_value(re.compile("city: Oslo"))
    page.click("[data-thread=t-paris]")
    expect(log.locator(".msg.user")).to_have_text(["Weather in Paris?"])
    expect(log).not_to_contain_text("Oslo")
    page.click("#new-thread")
    expect(log.locator(".msg")).to_have_count(0)
    expect(log).to_contain_text("no messages yet")
    page.reload()  # the chosen thread is remembered
    expect(page.locator("#threads li.on")).to_contain_text("(new thread)")


def test_with_auth_the_key_is_asked_for_then_everything_works(browser: Browser):
    with ServerThread(auth=ApiKeyAuth(["sk-studio"])) as running:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{running.url}/#/agents/weather")
        dialog = page.locator("dialog.keydialog")
        expect(dialog).to_be_visible()
        dialog.locator("input").fill("sk-wrong")
        dialog.locator("button.primary").click()
        expect(dialog).to_contain_text("The key was refused")
        expect(page.locator("dialog")).to_have_count(1)
        dialog.locator("input").fill("sk-studio")
        dialog.locator("button.primary").click()
        expect(page.locator(".side .list a", has_text="weather")).to_be_visible()
        expect(page.locator("#who")).to_contain_text("API key set")
        assert page.evaluate("sessionStorage.getItem('mastra.studio.apiKey')") == "sk-studio"

        page.reload()  # kept for the tab: no second prompt
        expect(page.locator("#chat-log p.hint")).to_be_visible()
        expect(page.locator("dialog")).to_have_count(0)
        send(page, "Weather in Rome?")
        expect(page.locator(".runinfo")).to_contain_text("stop", timeout=10_000)
        expect(page.locator(".msg.assistant .text")).to_contain_text("Rome")
        context.close()


def test_a_failing_model_shows_a_readable_message(page: Page, server: str):
    open_agent(page, server, "fragile")
    send(page, "hello?")
    failure = page.locator(".msg.assistant .error-box")
    expect(failure).to_contain_text("The run failed: internal error (RuntimeError", timeout=10_000)
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator("#last-run")).to_contain_text("error")
    page.goto(f"{server}/#/workflows/approval")
    page.fill("#workflow-input", '{"customer": "ada", "amount": -5}')
    page.click("#start-run")
    expect(page.locator("#run-status")).to_have_text("failed", timeout=10_000)
    expect(page.locator("#run .error-box")).to_contain_text("amount must be positive")


def test_memory_and_vector_pages(page: Page, server: str):
    page.goto(f"{server}/#/memory")
    expect(page.locator("#memory-source")).to_have_value("weather")
    page.click("#memory-threads [data-thread=t-oslo]")
    rows = page.locator("#memory-messages tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Weather in Oslo?")

    page.goto(f"{server}/#/vectors")
    expect(page.locator(".head")).to_contain_text("4 vectors")
    page.fill("#query-vector", "[1, 0.1, 0.1, 0.1]")
    page.fill("#query-topk", "2")
    page.click("#query-run")
    results = page.locator("#query-results tbody tr")
    expect(results).to_have_count(2)
    expect(results.first).to_contain_text("coats in winter")
    page.fill("#query-vector", "[1, 2]")
    page.click("#query-run")
    expect(page.locator(".bad")).to_contain_text("this index takes 4")
