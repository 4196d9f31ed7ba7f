"""The leaderboard page in headless Chromium: its script ranks, sorts, filters and keeps the filter state
in the URL, with no error in the console. Skipped where Chromium or its driver is not installed
(`make setup` installs both where apt exists)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmark.report.commands import build_leaderboard
from benchmark.report.tables import build_tables
from benchmark.results.record import Record
from benchmark.results.store import ResultStore

CHROMEDRIVER = Path("/usr/bin/chromedriver")

# accuracy per seed: alpha and beta cannot be told apart at IPC 1, gamma lies clearly below both
STANDARD = {
    ("alpha", 1): [0.800, 0.805, 0.795],
    ("beta", 1): [0.790, 0.800, 0.795],
    ("gamma", 1): [0.700, 0.702, 0.698],
    ("random", 1): [0.500, 0.510, 0.490],
    ("alpha", 10): [0.850, 0.852, 0.848],
    ("beta", 10): [0.900, 0.902, 0.898],
    ("gamma", 10): [0.880, 0.882, 0.878],
    ("random", 10): [0.700, 0.702, 0.698],
}


def _browser():
    try:
        from selenium import webdriver
    except ImportError as error:
        pytest.skip(f"chromium not installed: selenium is missing ({error})")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or not CHROMEDRIVER.is_file():
        pytest.skip(f"chromium not installed: no chromium on PATH or no {CHROMEDRIVER} "
                    "(apt-get install chromium chromium-driver)")  # fmt: skip
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(str(CHROMEDRIVER)))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("board")
    store = ResultStore(root)
    for (name, ipc), values in STANDARD.items():
        for seed, value in enumerate(values):
            config = {
                "dataset": "fashion_mnist", "suite": "standard", "profile": "quick", "spec": name,
                "strategy": name, "ipc": ipc, "network": "ConvNet", "eval_recipe": {"epochs": 5},
                "step": None, "steps": None, "class_order": None, "distill_seed": seed, "repeat": 0,
                "eval_seed": 0,
            }  # fmt: skip
            metrics = {"accuracy": value}
            store.put(Record(config, "ok", metrics=metrics, storage=7000 * ipc, budget=7840 * ipc))
            other = config | {"dataset": "digits", "ipc": 1}
            if ipc == 1:
                store.put(Record(other, "ok", metrics={"accuracy": value}, storage=600, budget=640))
    result = build_leaderboard(root, figures=False)
    driver = _browser()
    try:
        yield driver, result["html"].resolve().as_uri(), build_tables(store.records())
    finally:
        driver.quit()


def _rows(driver, section="table-1"):
    """(label, rank) of the shown rows of a section's ranked table, in page order."""
    rows = driver.execute_script(
        """return Array.from(document.querySelectorAll('#' + arguments[0] + ' table.ranked tbody tr'))
             .filter(tr => tr.style.display !== 'none')
             .map(tr => [tr.cells[1].firstChild.textContent, tr.cells[0].textContent]);""",
        section,
    )
    return [tuple(row) for row in rows]


def _bold(driver, column):
    return driver.execute_script(
        """return Array.from(document.querySelectorAll('#table-1 td.best'))
             .filter(td => td.dataset.column === arguments[0])
             .map(td => td.parentNode.cells[1].firstChild.textContent).sort();""",
        str(column),
    )


def _errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_script_ranks_as_the_tables_do_and_sorts(page):
    driver, url, tables = page
    driver.get(url)
    (fashion,) = [t for t in tables if t.dataset == "fashion_mnist"]
    ranks = fashion.ranks()
    expected = [(row[0], str(ranks[row])) for row in fashion.rows("measured")]
    assert _rows(driver) == expected  # the script's ranks and order are Python's
    assert expected == [("beta", "1"), ("alpha", "2"), ("gamma", "3"), ("random", "4")]
    assert _bold(driver, 0) == ["alpha", "beta"]  # IPC 1: one top group
    driver.find_element("css selector", "#table-1 table.ranked th[data-column='0']").click()
    assert [label for label, _ in _rows(driver)] == ["random", "gamma", "beta", "alpha"]  # ascending
    assert _errors(driver) == []


def test_filters_recompute_ranks_and_live_in_the_url(page):
    driver, url, _ = page
    driver.get(url)
    driver.find_element("css selector", "input[name=strategy][value=alpha]").click()
    # without alpha, beta leads IPC 1 alone and gamma falls to the second group
    assert _rows(driver) == [("beta", "1"), ("gamma", "2"), ("random", "3")]
    assert _bold(driver, 0) == ["beta"]
    fragment = driver.execute_script("return location.hash")
    assert "strategy=beta" in fragment and "alpha" not in fragment
    driver.find_element("css selector", "select[name=ipc] option[value='1']").click()
    hidden = driver.execute_script(
        "return document.querySelector('#table-1 th[data-column=\"1\"]').style.display"
    )
    assert hidden == "none"  # the IPC 10 column
    assert "ipc=1" in driver.execute_script("return location.hash")
    assert _errors(driver) == []


def test_a_url_with_filters_opens_filtered(page):
    driver, url, _ = page
    driver.get(url + "#ipc=1&strategy=alpha&strategy=gamma&strategy=random")
    assert driver.execute_script("return document.querySelector('select[name=ipc]').value") == "1"
    assert _rows(driver) == [("alpha", "1"), ("gamma", "2"), ("random", "3")]
    driver.get(url + "?dataset=digits")
    shown = driver.execute_script(
        "return Array.from(document.querySelectorAll('section.board'))"
        ".filter(s => s.style.display !== 'none').map(s => s.dataset.dataset)"
    )
    assert shown == ["digits"]
    assert _errors(driver) == []
