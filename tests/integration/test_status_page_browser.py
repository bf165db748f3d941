"""The console in real headless Chromium against a running engine after a demo-sized run (20
deals completing, 2 deals in exception, 1 dead letter): sign-in without a URL token, every
panel shows the counts the API returns, nothing overflows its card at 1024 and 1400 px, a deal's
timeline opens in place and scrolls into view (also deep-linked), a viewer sees no operator
controls and an operator's bulk action previews without sending. Screenshots go to artifacts/."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord
from engine.runtime.names import TopicNames
from engine.workload.histories import HistoryOptions, deal_history
from tests.integration.observability_support import (
    OPERATOR,
    VIEWER,
    EngineThread,
    all_completed,
    deals,
    demo_events,
)

pytestmark = pytest.mark.kafka
DEALS = deals(20, "WEB")
# Deals whose accounts are not in master data: their validation fails, they wait in exception.
ORPHANS = ["WEB-X01", "WEB-X02"]
T = TypeVar("T")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
WIDTHS = (1024, 1400)
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)
# Every element that sticks out of its card, at the current width (empty: none does).
OVERFLOWS_JS = """
const out = [];
for (const card of document.querySelectorAll('main:not([hidden]) .card')) {
  if (card.offsetParent === null) continue;
  const box = card.getBoundingClientRect();
  if (card.scrollWidth > card.clientWidth + 1) out.push(card.id + ' scrolls: ' + card.scrollWidth + ' > ' + card.clientWidth);
  for (const e of card.querySelectorAll('table, canvas, .uplot, button, input, select, li, p, dl')) {
    if (e.offsetParent === null) continue;
    const r = e.getBoundingClientRect();
    if (r.right > box.right + 1 || r.left < box.left - 1) out.push(card.id + ' > ' + e.tagName + (e.id ? '#' + e.id : '') + ': ' + Math.round(r.left) + '..' + Math.round(r.right) + ' outside ' + Math.round(box.left) + '..' + Math.round(box.right));
  }
}
return out;
"""


def browser_binaries() -> tuple[str, str]:
    """Debian's chromium and chromium-driver (scripts/test.sh installs them)."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        reason = "chromium/chromium-driver not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; scripts/test.sh should have installed them")
        pytest.skip(reason)
    return chromium, driver


def publish_dead_letter(engine: EngineThread) -> None:
    """Bytes no codec can read, on CRM's inbound topic: the worker dead-letters them."""
    assert engine.settings is not None
    settings = engine.settings

    async def _send() -> None:
        producer = Producer(
            KafkaConnection.from_settings(settings).options(), client_id="it-garbage"
        )
        await producer.start()
        try:
            topic = TopicNames(settings.topic_prefix).events("crm")
            await producer.send_and_wait(OutRecord(topic, b"WEB-GARBAGE", b"\x00not avro"))
        finally:
            await producer.stop()

    engine.call(_send())


@pytest.fixture(scope="module")
def engine(kafka_bootstrap: str) -> Iterator[EngineThread]:
    thread = EngineThread(kafka_bootstrap)
    try:
        thread.start()
        master, history = demo_events(DEALS)
        orphans = [e for d in ORPHANS for e in deal_history(d, HistoryOptions(milestones=2))]
        thread.publish(master)
        thread.publish(history + orphans)
        publish_dead_letter(thread)
        thread.wait_for("/api/v1/overview", all_completed(len(DEALS)), timeout_s=150)
        thread.wait_for(
            "/api/v1/exceptions", lambda b: len(b["items"]) == len(ORPHANS), timeout_s=60
        )
        thread.wait_for("/api/v1/dlq", lambda b: b["total"] >= 1, timeout_s=60)
        yield thread
    finally:
        thread.stop()


@pytest.fixture
def driver() -> Iterator[Any]:
    chromium, chromedriver = browser_binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    profile = tempfile.mkdtemp(prefix="q2c-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()  # ends chromium and chromedriver
        shutil.rmtree(profile, ignore_errors=True)


def wait_until(check: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:  # an element not rendered yet
            pass
        time.sleep(0.2)
    return check()


def again_if_stale(action: Callable[[], T], tries: int = 5) -> T:
    """`action()`, done again when the page re-rendered an element under it (the page redraws
    on its 15 s refresh and on resize): a stale element is the test's timing, not the page's."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(tries - 1):
        try:
            return action()
        except StaleElementReferenceException:
            time.sleep(0.2)
    return action()


def css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def text(driver: Any, selector: str) -> str:
    return str(css(driver, selector)[0].text)


def sign_in(driver: Any, engine: EngineThread, token: str, path: str = "/") -> None:
    driver.get(engine.base + path)
    assert wait_until(lambda: css(driver, "#token")[0].is_displayed())
    css(driver, "#token")[0].send_keys(token)
    css(driver, "#signin-submit")[0].click()
    assert wait_until(lambda: css(driver, "#who")[0].is_displayed()), text(driver, "#signin-msg")
    assert not css(driver, "#signin")[0].is_displayed()


def viewport(driver: Any, width: int) -> None:
    driver.set_window_size(width, 1000)
    # Headless windows have no frame: the layout viewport is the window's width.
    assert wait_until(lambda: abs(driver.execute_script("return window.innerWidth") - width) < 20)


def shoot(driver: Any, name: str) -> Path:
    """A screenshot of the whole page at the current width."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    width = driver.execute_script("return window.innerWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height, 6000))
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(shot))
    driver.set_window_size(width, 1000)
    print(f"status page screenshot: {shot}")
    return shot


def overview_view(driver: Any) -> dict[str, Any]:
    """What the overview and operations views show, in the shape the test compares."""
    rows = css(driver, '#by-state tr[data-type="quote-to-cash"]')
    aging = css(driver, "#aging-table tbody tr")
    return {
        "deals": text(driver, "#total-deals"),
        "sagas": text(driver, "#total-sagas"),
        "by_state": {
            r.get_attribute("data-state"): r.find_element("css selector", "td.num").text
            for r in rows
        },
        "funnel": {
            b.get_attribute("data-stage"): b.find_element("css selector", "span.num").text
            for b in css(driver, "#funnel .bar")
        },
        "exceptions": (
            text(driver, "#exceptions-total"),
            {r.get_attribute("data-key") for r in css(driver, "#exceptions-table tbody tr")},
        ),
        "stuck": text(driver, "#stuck-total"),
        "aging": [
            int(r.find_elements("css selector", "td")[2].get_attribute("textContent"))
            for r in aging
        ],
        "dlq": (text(driver, "#dlq-total"), len(css(driver, "#dlq-errors-table tbody tr"))),
    }


def finance_view(driver: Any) -> dict[str, Any]:
    """What the finance view shows, in the shape the test compares."""
    money = {}
    for row in css(driver, "#money-table tbody tr"):
        cells = row.find_elements("css selector", "td")
        money[(row.get_attribute("data-currency"), row.get_attribute("data-entity"))] = (
            cells[2].text,
            cells[3].text,
        )
    return {
        "money": money,
        "charts": len(css(driver, "#view-finance .chart canvas")),
        "billing": {
            p.get_attribute("data-billing"): p.text for p in css(driver, "#billing-status .pill")
        },
        "deals": len(css(driver, "#deal-money-table tbody tr")),
    }


def csp_violations(driver: Any) -> list[str]:
    return [
        e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]
    ]


def test_viewer_console_matches_the_api_at_both_widths(engine: EngineThread, driver: Any) -> None:
    sign_in(driver, engine, VIEWER)
    assert VIEWER not in driver.current_url
    (session,) = [c for c in driver.get_cookies() if c["name"] == "q2c_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert VIEWER not in session["value"]

    # The page re-renders every 15 s: each view is read whole and compared until it matches, so
    # an element replaced between finding and reading it is read again, not a failure.
    over = engine.get("/api/v1/overview")
    exceptions = engine.get("/api/v1/exceptions")["items"]
    ops = engine.get("/api/v1/operations")
    dlq = engine.get("/api/v1/dlq")
    assert len(exceptions) == len(ORPHANS) == sum(ops["aging"]["exception"]["counts"])
    expected = {
        "deals": str(len(DEALS) + len(ORPHANS)),
        "sagas": str(over["sagas"]),
        "by_state": {s: str(n) for s, n in over["by_state"]["quote-to-cash"].items()},
        "funnel": {f["stage"]: str(f["count"]) for f in over["funnel"]},
        "exceptions": (str(len(exceptions)), set(ORPHANS)),
        "stuck": str(len(ops["stuck"])),
        "aging": ops["aging"]["exception"]["counts"],
        "dlq": (str(dlq["total"]), len(dlq["by_error"])),
    }
    assert wait_until(lambda: overview_view(driver) == expected), overview_view(driver)
    assert css(driver, "#chart-aging canvas")
    assert text(driver, "#events-total").isdigit()
    # A viewer is shown no operator control at all (not disabled ones: none).
    assert css(driver, "button.op, input.pick, #bulk *") == []

    for width in WIDTHS:
        viewport(driver, width)
        driver.get(engine.base + "/#/ops")
        assert wait_until(lambda: text(driver, "#dlq-total") == str(dlq["total"]))
        assert driver.execute_script(OVERFLOWS_JS) == []
        shoot(driver, f"status-page-operations-{width}.png")

    fin = engine.get("/api/v1/finance")
    assert fin["billing"].get("all paid") == len(DEALS)
    money = {
        (r["currency"], r["legal_entity"]): (str(r["deals"]), str(r["invoices"]))
        for r in fin["totals"]
    }
    expected_fin = {
        "money": money,
        "charts": 3,
        "billing": {k: f"{k}: {n}" for k, n in fin["billing"].items()},
        "deals": len(fin["deals"]),
    }
    for width in WIDTHS:
        viewport(driver, width)
        driver.get(engine.base + "/#/finance")
        assert wait_until(lambda: finance_view(driver) == expected_fin), finance_view(driver)
        assert driver.execute_script(OVERFLOWS_JS) == []
        shoot(driver, f"status-page-finance-{width}.png")
    assert csp_violations(driver) == []


def test_timeline_opens_in_place_and_deep_links(engine: EngineThread, driver: Any) -> None:
    sign_in(driver, engine, VIEWER, "/#/deal")
    viewport(driver, 1024)
    last = DEALS[-1]
    assert wait_until(lambda: bool(css(driver, f'#saga-list-table a.key[data-key="{last}"]')))

    def open_last() -> None:
        link = css(driver, f'#saga-list-table a.key[data-key="{last}"]')[0]
        driver.execute_script("arguments[0].scrollIntoView()", link)
        link.click()

    again_if_stale(open_last)
    assert wait_until(lambda: text(driver, "#timeline-key") == last)
    assert last in driver.current_url  # deep-linkable: the URL names the deal
    in_view = "const r = arguments[0].getBoundingClientRect(); return r.top >= -1 && r.top < window.innerHeight;"
    assert wait_until(lambda: driver.execute_script(in_view, css(driver, "#timeline")[0]))
    api = engine.get(f"/api/v1/deals/{last}/timeline")
    assert api["commands_read"]

    def timeline_view() -> tuple[int, str, set[str], int]:
        commands = css(driver, '#timeline-body li[data-kind="command"]')
        return (
            len(css(driver, "#timeline-body li")),
            commands[0].text if commands else "",
            {e.text for e in css(driver, "#timeline-body .sys")},
            len(css(driver, "#platform-ids-table tbody tr")),
        )

    entries, command, systems, ids = again_if_stale(timeline_view)
    assert entries == len(api["entries"]) and ids == len(api["platform_ids"])
    assert "idempotency key" in command
    assert {"CRM", "ERP/PSA", "billing"} <= systems
    assert driver.execute_script(OVERFLOWS_JS) == []
    shoot(driver, "status-page-timeline-1024.png")

    # The link opens straight into the deal, after signing in again in a new page load.
    driver.get(f"{engine.base}/#/deal/{DEALS[0]}")
    assert wait_until(lambda: text(driver, "#timeline-key") == DEALS[0])
    assert driver.execute_script(in_view, css(driver, "#timeline")[0])


def test_operator_previews_bulk_actions_without_sending(engine: EngineThread, driver: Any) -> None:
    sign_in(driver, engine, OPERATOR)
    assert wait_until(lambda: len(css(driver, "#exceptions-table input.pick")) == len(ORPHANS))
    assert wait_until(lambda: bool(css(driver, "#dlq-errors-table button.op")))

    def pick_all() -> None:
        # The page keeps the selection across redraws: a box found checked was clicked.
        for box in css(driver, "#exceptions-table input.pick"):
            if not box.is_selected():
                box.click()

    again_if_stale(pick_all)
    again_if_stale(
        lambda: css(driver, '#bulk input[aria-label="reason"]')[0].send_keys("browser test preview")
    )
    again_if_stale(lambda: css(driver, "#bulk-dry-run")[0].click())
    assert wait_until(lambda: len(css(driver, "#bulk-result tbody tr")) == len(ORPHANS))
    assert again_if_stale(
        lambda: {
            r.find_elements("css selector", "td")[1].text
            for r in css(driver, "#bulk-result tbody tr")
        }
    ) == {"would-retry"}
    # Nothing was sent: both deals still wait in exception at their first attempt.
    items = engine.get("/api/v1/exceptions")["items"]
    assert [i["attempt"] for i in items] == [0] * len(ORPHANS)

    again_if_stale(lambda: css(driver, "#dlq-errors-table button.op")[0].click())
    dlq = engine.get("/api/v1/dlq")
    assert wait_until(lambda: css(driver, "#dlq-preview")[0].is_displayed())
    assert f"Dry run: {dlq['by_error'][0]['count']} dead letter(s)" in text(
        driver, "#dlq-preview h3"
    )
    assert engine.get("/api/v1/dlq")["total"] == dlq["total"]
    assert driver.execute_script(OVERFLOWS_JS) == []
    shoot(driver, "status-page-operator-1400.png")
