"""The served pages in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium; nothing is
downloaded): submit over the API, reload, find the entry ranked where its score puts it, sort columns, open the
entry's detail page, and check a screenshot is not blank."""
from __future__ import annotations

import io
import shutil

import httpx
import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Debian's chromium and chromium-driver are not "
                                "installed (`apt-get install chromium chromium-driver`; make test does it)")
TABLE = "AlignGym/ShapingCartPole-v0"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1300,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def rows(browser):
    from selenium.webdriver.common.by import By

    table = browser.find_element(By.XPATH, f"//h2[@id='{TABLE}']/following-sibling::table[1]")
    return table, table.find_elements(By.CSS_SELECTOR, "tbody tr")


def test_submit_reload_rank_sort_and_detail(browser, live_server, records, make_submission, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    def submit(body):
        answer = httpx.post(live_server.url + "/api/submissions", json=body, timeout=60,
                            headers={"Authorization": f"Bearer {live_server.token}"})
        assert answer.status_code == 201, answer.text
        return answer.json()

    submit(make_submission(records["random"], name="a weaker entry", variant=4241))
    page = live_server.url + "/shaping.html"
    browser.get(page)
    name = "Browser entry"
    assert name not in browser.page_source

    sub = make_submission(records["shaping.heuristic?controller=good"], name=name, variant=4242)
    answer = submit(sub)
    entry_id, score = answer["entry_id"], answer["score"]

    browser.refresh()
    table, trs = rows(browser)
    ids = [int(tr.get_attribute("data-entry")) for tr in trs]
    scores = [float(tr.find_element(By.CSS_SELECTOR, "td.score").get_attribute("data-sort")) for tr in trs]
    assert scores == sorted(scores, reverse=True)  # best first
    position = ids.index(entry_id)
    assert len(ids) >= 2 and position < len(ids) - 1  # above the weaker entry
    assert position == sum(s > score for s in scores)  # exactly the better-scoring entries are above it
    rank_cell = trs[position].find_elements(By.TAG_NAME, "td")[0].text
    api_rank = next(e for e in httpx.get(live_server.url + "/api/entries").json()["entries"] if e["id"] == entry_id)
    assert rank_cell == ("=" if api_rank["tied"] else "") + str(api_rank["rank"])

    headers = table.find_elements(By.TAG_NAME, "th")
    headers[1].click()  # entry name: ascending
    _, trs = rows(browser)
    names = [tr.find_elements(By.TAG_NAME, "td")[1].text.lower() for tr in trs]
    assert names == sorted(names) and len(names) == len(ids)
    headers[4].click()  # the score: ascending, then descending
    _, trs = rows(browser)
    ascending = [float(tr.find_element(By.CSS_SELECTOR, "td.score").get_attribute("data-sort")) for tr in trs]
    assert ascending == sorted(scores)
    headers[4].click()
    _, trs = rows(browser)
    assert [float(tr.find_element(By.CSS_SELECTOR, "td.score").get_attribute("data-sort")) for tr in trs] == scores

    next(tr for tr in trs if int(tr.get_attribute("data-entry")) == entry_id).find_element(By.LINK_TEXT, name).click()
    assert browser.find_element(By.TAG_NAME, "h1").text == name
    facts = {dt.text: dd.text for dt, dd in zip(browser.find_elements(By.TAG_NAME, "dt"),
                                                browser.find_elements(By.TAG_NAME, "dd"))}
    record = sub["record"]
    assert facts["evaluation seeds"] == ", ".join(map(str, record["eval_seeds"]))
    assert facts["suite version"] == record["suite_version"] and facts["agent spec"] == record["agent"]["spec"]
    assert facts["environment"] == TABLE and facts["status"].startswith("self-reported")
    plot = browser.find_element(By.CSS_SELECTOR, "svg.distribution")
    assert len(plot.find_elements(By.TAG_NAME, "circle")) == len(record["episodes"])

    png = browser.get_screenshot_as_png()
    (tmp_path / "entry.png").write_bytes(png)
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    assert pixels.shape[0] > 500 and pixels.std() > 10  # text and a plot, not a blank page
    assert (pixels < 128).mean() > 0.005  # dark pixels: text and plot marks were drawn
