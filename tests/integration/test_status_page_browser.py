"""The status page in real headless Chromium after a demo-sized run (20 deals): the counts are
right and a saga's timeline opens. Saves a screenshot under artifacts/."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.observability_support import (
    VIEWER,
    EngineThread,
    all_completed,
    deals,
    demo_events,
)

pytestmark = pytest.mark.kafka
DEALS = deals(20, "WEB")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
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
    "--window-size=1400,1800",
)


def browser_binaries() -> tuple[str, str]:
    """Debian's chromium and chromium-driver (scripts/test.sh installs them)."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        reason = "chromium/chromium-driver not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; scripts/test.sh should have installed them")
        pytest.skip(reason)
    return chromium, driver


@pytest.fixture(scope="module")
def engine(kafka_bootstrap: str) -> Iterator[EngineThread]:
    thread = EngineThread(kafka_bootstrap)
    try:
        thread.start()
        master, history = demo_events(DEALS)
        thread.publish(master)
        thread.publish(history)
        thread.wait_for("/api/v1/overview", all_completed(len(DEALS)), timeout_s=150)
        yield thread
    finally:
        thread.stop()


@pytest.fixture
def driver() -> Iterator[object]:
    chromium, chromedriver = browser_binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
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
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_status_page_shows_the_run_and_a_timeline(engine: EngineThread, driver: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(driver, WebDriver)
    driver.get(f"{engine.base}/?token={VIEWER}")
    text = lambda css: driver.find_element(By.CSS_SELECTOR, css).text  # noqa: E731
    assert wait_until(lambda: text("#total-deals") == str(len(DEALS))), text("#status")
    completed = driver.find_element(
        By.CSS_SELECTOR, '#by-state tr[data-type="quote-to-cash"][data-state="completed"] td.num'
    )
    assert completed.text == str(len(DEALS))
    funnel = {
        row.get_attribute("data-stage"): row.find_element(By.CSS_SELECTOR, "span.num").text
        for row in driver.find_elements(By.CSS_SELECTOR, "#funnel .bar")
    }
    assert funnel["closed_won"] == funnel["completed"] == str(len(DEALS))
    cycles = driver.find_element(By.CSS_SELECTOR, '#cycles tr[data-cycle="invoice_to_payment"]')
    assert cycles.find_elements(By.TAG_NAME, "td")[1].text == str(2 * len(DEALS))

    assert wait_until(lambda: bool(driver.find_elements(By.CSS_SELECTOR, "#saga-list a.key")))
    link = driver.find_element(By.CSS_SELECTOR, f'#saga-list a.key[data-key="{DEALS[0]}"]')
    link.click()
    assert wait_until(lambda: driver.find_element(By.ID, "timeline").is_displayed())
    assert text("#timeline-key") == DEALS[0]
    entries = driver.find_elements(By.CSS_SELECTOR, '#timeline .saga[data-type="quote-to-cash"] li')
    assert any("closed-won" in e.text for e in entries)
    # Which event completes the deal depends on arrival order (early events are parked).
    assert any("→ completed" in e.text for e in entries)
    assert wait_until(lambda: text("#dlq-total") == "0")

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "status-page.png"
    assert driver.save_screenshot(str(shot))
    print(f"status page screenshot: {shot}")
