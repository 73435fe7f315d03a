"""The transparency page in a real browser: Debian's chromium, driven by Selenium through the system chromedriver.

`.ci/run` installs `chromium` and `chromium-driver` with apt-get when they are missing; nothing is downloaded
here (Selenium Manager is never asked: the driver's path is given). Where neither could be installed, the test
skips and says so. The screenshot goes to `test-output/` (or ALPR_TEST_OUTPUT_DIR) for a person to look at.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.services.gateway.test_public_pages import DEV_PARTNER, fresh

pytestmark = pytest.mark.asyncio(loop_scope="session")

REPO = Path(__file__).resolve().parents[3]
OUTPUT = Path(os.environ.get("ALPR_TEST_OUTPUT_DIR", REPO / "test-output"))
DRIVER = os.environ.get("ALPR_CHROMEDRIVER", "/usr/bin/chromedriver")
BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def browser_binary() -> str | None:
    return next((b for b in BROWSERS if Path(b).exists()), None) or shutil.which("chromium")


def browser_installed() -> bool:
    return browser_binary() is not None and Path(DRIVER).exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def look_at(url: str, screenshot: Path) -> dict[str, Any]:
    """Open the page headless at a phone's width and then a desk's; what a resident would see, as facts."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = browser_binary() or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument("--window-size=390,844")
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        driver.set_page_load_timeout(20)
        driver.get(url)
        phone = {
            "page_width": driver.execute_script("return document.documentElement.scrollWidth"),
            "window_width": driver.execute_script("return window.innerWidth"),
        }
        driver.set_window_size(1280, 2400)
        table = driver.find_element(By.ID, "figures-table")
        facts = {
            **phone,
            "title": driver.title,
            "h1": driver.find_element(By.TAG_NAME, "h1").text,
            "landmarks": [len(driver.find_elements(By.TAG_NAME, t)) for t in ("header", "nav", "main", "footer")],
            "partners": [
                e.text for e in driver.find_elements(By.CSS_SELECTOR, "#partners-heading ~ div th[scope=row]")
            ],
            "months": [e.text for e in table.find_elements(By.CSS_SELECTOR, "tbody th[scope=row]")],
            "charts": len(driver.find_elements(By.CSS_SELECTOR, "figure.chart svg[role=img]")),
            "bars": len(driver.find_elements(By.CSS_SELECTOR, "figure.chart svg rect")),
            "chart_labels": [
                e.get_attribute("aria-labelledby") for e in driver.find_elements(By.CSS_SELECTOR, "figure.chart svg")
            ],
            "table_link": driver.find_element(By.CSS_SELECTOR, "a[href='#figures-table']").text,
            "scripts": len(driver.find_elements(By.TAG_NAME, "script")),
            "console": [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"],
        }
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(screenshot))
        return facts
    finally:
        driver.quit()


async def test_the_page_renders_in_chromium_with_the_partner_twelve_months_and_the_table(system) -> None:
    if not browser_installed():
        pytest.skip(
            "chromium and chromium-driver are not installed and apt could not install them "
            "(.ci/run installs them with apt-get where it can): the browser test cannot run here"
        )
    fresh(system)
    port = free_port()
    # the gateway app the fixtures started, served over real HTTP for the browser; its lifespan already ran
    server = uvicorn.Server(
        uvicorn.Config(system.apps["gateway"], host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        screenshot = OUTPUT / "transparency.png"
        facts = await asyncio.to_thread(look_at, f"http://127.0.0.1:{port}/public/transparency", screenshot)
    finally:
        server.should_exit = True
        await serving
    assert facts["h1"] == "ALPR transparency" and facts["title"].startswith("Transparency")
    assert facts["landmarks"] == [1, 1, 1, 1]
    assert DEV_PARTNER in facts["partners"]
    assert len(facts["months"]) == 12 and len(set(facts["months"])) == 12
    assert facts["charts"] == 8 and facts["bars"] == 8 * 12
    assert all(label and label.endswith("-desc") for label in facts["chart_labels"])
    assert facts["table_link"] == "The same figures as a table"
    assert facts["scripts"] == 0 and facts["console"] == []  # a refused inline style would be logged here
    assert facts["page_width"] <= facts["window_width"]  # readable on a phone: nothing runs off the side
    assert (await asyncio.to_thread(screenshot.stat)).st_size > 10_000
