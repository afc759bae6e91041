"""The static site: built through the CLI, then opened from file:// in headless Chromium
(tables, images, sorting, paper values, provenance) and compared with a screenshot.

The browser and the screenshot comparison are tests/browser.py's (skipped without Chromium
unless ``LBAL_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser import assert_looks_like, open_browser
from leaderboard_records import SNAPSHOTS, fixed_records, make_record, variant_records, write_results
from lbal_bench.errors import LbalError
from lbal_bench.leaderboard import write_leaderboard, write_site

SCREENSHOT = SNAPSHOTS / "leaderboard_page.png"
WINDOW = (1200, 1500)


def build_site(root: Path) -> Path:
    """Two boards (the fixture and a one-table digits board) and their site; returns the site."""
    write_leaderboard(fixed_records(), root / "leaderboard" / "fixture", "fixture")
    digits = [make_record(m, "knn", s, 10, {"top1": 50.0 + s}, dataset="digits", backbone="pixels")
              for m in ("kmeans", "random") for s in (0, 1)]
    write_leaderboard(digits, root / "leaderboard" / "digits", "digits")
    write_site(root / "leaderboard", root / "site")
    return root / "site"


def test_html_option_builds_an_index_of_every_board_beside_this_one(cli, tmp_path):
    write_leaderboard(fixed_records()[:3], Path("leaderboard/other"), "other")
    write_results(tmp_path / "results", fixed_records())
    result = cli("leaderboard", "results", "--board", "leaderboard/fixture", "--html", "site")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "site: site/index.html"
    index = Path("site/index.html").read_text()
    assert 'href="fixture/index.html"' in index and 'href="other/index.html"' in index
    page = Path("site/fixture/index.html").read_text()
    assert "https://" not in page and "http://" not in page  # nothing fetched from elsewhere
    plot = "plots/cifar10-resnet18_compress-linear-top1.svg"
    for link in ("leaderboard.csv", "leaderboard.json", "leaderboard.md", plot):
        assert (Path("site/fixture") / link).exists() and f'="{link}"' in page, link


def test_paper_value_without_a_std_is_shown_alone(tmp_path):
    """Table 14 publishes no std; the page is rendered from the board's JSON, where it is null."""
    records = [make_record("coreset", "linear", seed, 1000, {"top1": 20.0 + seed}, dataset="imagenet",
                           backbone="resnet50_mocov2") for seed in (0, 1)]
    write_leaderboard(records, tmp_path / "leaderboard" / "imagenet", "imagenet")
    write_site(tmp_path / "leaderboard", tmp_path / "site")
    expected = "20.5 ± 0.5<span class=\"paper\">paper 23.4 (Δ −2.9, Table 14)</span>"
    assert expected in (tmp_path / "site" / "imagenet" / "index.html").read_text()
    markdown = re.sub(r" {2,}", " ", (tmp_path / "leaderboard/imagenet/leaderboard.md").read_text())
    assert "| coreset: paper | | 23.4 (Δ −2.9, Table 14) | |" in markdown


def test_index_names_every_board_once_and_leaves_out_empty_and_unfinished_ones(tmp_path):
    root = tmp_path / "leaderboard"
    write_leaderboard(fixed_records()[:3], root / "digits", "digits")
    write_leaderboard(fixed_records()[3:6], root / "digits_again", "digits")  # the same title
    write_leaderboard([], root / "empty", "digits")  # e.g. an --only that matched nothing
    write_leaderboard(fixed_records()[:3], root / ".digits.new-host.1.x", "digits")  # a killed write's leftover
    index = write_site(root, tmp_path / "site").read_text()
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', index) == [
        ("digits/index.html", "digits (digits)"), ("digits_again/index.html", "digits (digits_again)")]
    assert not (tmp_path / "site" / "empty").exists()
    write_leaderboard([], root / "digits", "digits")
    write_leaderboard([], root / "digits_again", "digits")
    with pytest.raises(LbalError, match=r"every board is empty \(no rows\); nothing to publish$"):
        write_site(root, tmp_path / "site2")


def test_a_rebuilt_site_keeps_no_file_of_an_older_board(tmp_path):
    write_leaderboard(fixed_records(), tmp_path / "leaderboard" / "fixture", "fixture")
    write_site(tmp_path / "leaderboard", tmp_path / "site")
    histogram = tmp_path / "site" / "fixture" / "plots" / "cifar10-resnet18_compress-class_histogram-class_histogram.svg"
    assert histogram.exists()
    write_leaderboard([r for r in fixed_records() if r.display["evaluator"] != "class_histogram"],
                      tmp_path / "leaderboard" / "fixture", "fixture")
    write_site(tmp_path / "leaderboard", tmp_path / "site")
    assert not histogram.exists() and (tmp_path / "site" / "fixture" / "index.html").exists()
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == ["fixture", "index.html"]


def test_page_shows_rankings_start_options_and_aubc(tmp_path):
    write_leaderboard(variant_records(), tmp_path / "leaderboard" / "variants", "variants")
    page = (write_site(tmp_path / "leaderboard", tmp_path / "site").parent / "variants" / "index.html").read_text()
    assert '<h2>Ranking: resnet18_compress · linear top1</h2>' in page
    assert '<td class="options">sampler: init=random, nredo=5 · evaluator: normalise=l2</td>' in page
    assert '<td class="start">from 10 random</td>' in page
    assert '<td class="num" data-sort="1.5000">1.50</td>' in page  # kmeans' mean rank over two datasets
    assert '<td class="num aubc best" data-sort="47.3392">47.3 ± 0.8</td>' in page


def test_board_written_before_the_site_existed_is_refused_by_name(tmp_path):
    old = tmp_path / "leaderboard" / "old"
    old.mkdir(parents=True)
    (old / "leaderboard.json").write_text('{"title": "old", "rows": []}')
    with pytest.raises(LbalError) as error:
        write_site(tmp_path / "leaderboard", tmp_path / "site")
    assert str(error.value) == (f"{old / 'leaderboard.json'}: no 'histograms' field; rebuild this board with "
                                "`lbal-bench leaderboard`")


def test_site_without_boards_is_refused(tmp_path):
    with pytest.raises(LbalError, match=r"no boards \(\*/leaderboard\.json\) to publish$"):
        write_site(tmp_path, tmp_path / "site")


# --- in a real browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium driven through the system chromedriver."""
    driver = open_browser(tmp_path_factory.mktemp("chromium-profile"), WINDOW)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("published"))


def methods(table) -> list[str]:
    return [row.find_element("css selector", "th").text for row in table.find_elements("css selector", "tbody tr")]


def test_index_links_to_a_board_page_whose_tables_and_plots_render(browser, site):
    browser.get((site / "index.html").as_uri())
    links = browser.find_elements("css selector", "tbody th a")
    assert [link.text for link in links] == ["digits", "fixture"]
    links[1].click()
    assert browser.current_url == (site / "fixture" / "index.html").as_uri()
    assert browser.find_element("tag name", "h1").text == "lbal-bench leaderboard: fixture"
    tables = browser.find_elements("css selector", "table.board")
    assert [t.find_element("xpath", "preceding-sibling::h2[1]").text for t in tables] == [
        "cifar10 · resnet18_compress · coverage", "cifar10 · resnet18_compress · linear top1"]
    assert all(methods(t) == ["coreset", "kmeans", "random", "typiclust", "uniform †"] for t in tables)
    images = browser.find_elements("tag name", "img")
    assert len(images) == 3  # coverage, linear, class histogram
    for image in images:
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 100
    kmeans = tables[1].find_elements("css selector", "tbody tr")[1].find_elements("tag name", "td")
    assert [kmeans[0].text, kmeans[-2].text] == ["from 0", "45.3 ± 0.8"]  # start, AUBC
    assert kmeans[1].text.splitlines() == ["36.0 ± 0.8", "paper 28.5 ± 0.2 (Δ +7.5, Table 1)"]
    assert "best" in kmeans[1].get_attribute("class")
    rankings = browser.find_elements("css selector", "table.ranking")
    assert [t.find_element("xpath", "preceding-sibling::h2[1]").text for t in rankings] == [
        "Ranking: resnet18_compress · coverage", "Ranking: resnet18_compress · linear top1"]
    assert methods(rankings[1]) == ["kmeans", "typiclust", "random", "coreset", "uniform †"]  # by AUBC; † unranked


def test_clicking_a_budget_header_sorts_rows_and_provenance_opens(browser, site):
    browser.get((site / "fixture" / "index.html").as_uri())
    linear = browser.find_elements("css selector", "table.board")[1]
    header = linear.find_elements("css selector", "thead button")[2]
    assert header.text == "10"
    header.click()
    assert methods(linear) == ["coreset", "random", "typiclust", "kmeans", "uniform †"]  # 21, 21, 34, 36, 41
    header.click()
    assert methods(linear) == ["uniform †", "kmeans", "typiclust", "coreset", "random"]
    aubc = linear.find_elements("css selector", "thead button")[-1]
    assert aubc.text == "AUBC"
    aubc.click()
    assert methods(linear) == ["coreset", "random", "typiclust", "kmeans", "uniform †"]  # 30.2, 30.5, 44.6, …
    summary = linear.find_element("css selector", "tbody tr details summary")
    assert summary.text == "9 records"
    summary.click()
    details = linear.find_element("css selector", "tbody tr details").text
    assert "git 0123456789abcdef0123456789abcdef01234567" in details and "sampler coreset: lbal-bench 0.1.0" in details


def test_board_page_looks_like_its_screenshot(browser, site, tmp_path):
    """Pixel comparison with tests/snapshots/leaderboard_page.png (LBAL_UPDATE_SNAPSHOTS=1 rewrites
    it); small anti-aliasing differences pass, a moved table or a missing plot does not."""
    browser.get((site / "fixture" / "index.html").as_uri())
    assert_looks_like(browser, SCREENSHOT, tmp_path)
