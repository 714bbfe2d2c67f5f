"""The built book, read in a real browser: Debian's headless Chromium, driven by Selenium.

The test builds the book as ``make book`` does (every notebook executed in the ``book`` profile,
``-W --keep-going``), serves ``_build/html`` on 127.0.0.1 with ``http.server`` and walks the
table of contents in Chromium, reaching each page through the sidebar link of the page before. On
every page it checks that:

- the page and every file it loads come back with HTTP 200 from the local server, and the
  browser asks nothing of any other host (the book must work offline, MathJax included);
- every ``<img>`` has decoded (``naturalWidth > 0``);
- the math is typeset: each ``.math`` element holds MathJax output and no raw ``$$``, ``\\(`` or
  ``\\[`` is left in the visible text;
- no Python traceback, warning dump or raw object repr shows;
- the sidebar links to every chapter of the table of contents.

It saves a full-page screenshot of each page to ``_build/screenshots/``.

Set ``RESDEPTH_BOOK_BUILT=1`` to test an existing ``_build/html`` instead of building it (CI
always builds). The test skips, saying why, only when Chromium or its driver cannot be found;
``.ci/run`` installs Debian's ``chromium`` and ``chromium-driver`` when it runs as root.
"""

import base64
import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
BUILD_TIMEOUT_S = 45 * 60
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--window-size=1400,1000", "--disable-dev-shm-usage"]


def find_executable(names, extra_paths=()):
    for name in names:
        if shutil.which(name):
            return shutil.which(name)
    return next((str(p) for p in map(Path, extra_paths) if p.is_file() and os.access(p, os.X_OK)), None)


def toc_pages() -> list:
    """The documents of _toc.yml in reading order: the root, then every part's chapters and sections."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|py|ipynb)$", "", p) for p in pages]


def build_book():
    """Build the book exactly as ``make book`` does, in the ``book`` profile whatever the caller's."""
    env = {k: v for k, v in os.environ.items() if k != "RESDEPTH_PROFILE"}
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book", "build", ".", "--all", "-W", "--keep-going"]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-8000:]}")
    print(f"book built in {time.monotonic() - started:.0f} s")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves _build/html and records the status of every request."""

    log: list = []

    def log_request(self, code="-", size="-"):
        self.log.append((urlparse(self.path).path, int(code)))

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def chromium_paths():
    browser = find_executable(["chromium", "chromium-browser"], ["/usr/lib/chromium/chromium"])
    driver = find_executable(["chromedriver"], ["/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver"])
    if browser is None:
        pytest.skip("Chromium not found (install Debian's `chromium`: apt-get install -y chromium chromium-driver)")
    if driver is None:
        pytest.skip("chromedriver not found (install Debian's `chromium-driver`: apt-get install -y chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def built_book():
    """_build/html, built by this test unless RESDEPTH_BOOK_BUILT=1 and a build is there."""
    if os.environ.get("RESDEPTH_BOOK_BUILT") == "1" and (HTML / "index.html").is_file():
        print("RESDEPTH_BOOK_BUILT=1: testing the existing _build/html")
    else:
        build_book()
    return HTML


@pytest.fixture(scope="module")
def site(chromium_paths, built_book):
    """The built book, served on 127.0.0.1: yields (base URL, request log)."""
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", QuietHandler.log
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(chromium_paths):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_paths
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!document.querySelector('.math')) { done('no math'); return; }
const start = Date.now();
(function poll() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done('typeset'), (e) => done('error: ' + e));
  } else if (Date.now() - start > 30000) {
    done('MathJax did not load');
  } else {
    setTimeout(poll, 100);
  }
})();
"""

WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
window.scrollTo(0, document.body.scrollHeight);
Promise.all([...document.images].map(img => img.complete ? null : new Promise(r => {
  img.addEventListener('load', r); img.addEventListener('error', r);
}))).then(() => { window.scrollTo(0, 0); done(true); });
"""

PAGE_FACTS = """
const body = document.body.cloneNode(true);
body.querySelectorAll('pre, code, script, style, mjx-assistive-mml').forEach(e => e.remove());
const mathElements = [...document.querySelectorAll('.math')];
return {
  images: [...document.images].map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth})),
  math: mathElements.length,
  untypeset: mathElements.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
  visible: body.innerText,
  all_text: document.body.textContent,
  outputs: [...document.querySelectorAll('.cell_output')].map(e => e.textContent),
  scrolling: [...document.querySelectorAll('.cell_output pre')].filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => e.textContent.slice(0, 100)),
  sidebar: [...document.querySelectorAll('.bd-sidebar-primary a[href]')].map(a => a.href),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
};
"""

BAD_OUTPUT = [
    (re.compile(r"Traceback \(most recent call last\)"), "a Python traceback"),
    (re.compile(r"\b\w*(Warning|Error): "), "a warning or error message"),
    (re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>"), "a raw object repr"),
    (re.compile(r"<Figure size \d+x\d+ with \d+ Axes>|<(matplotlib|seaborn)\.[\w.]+"), "a raw figure repr"),
    (re.compile(r"\bnp\.(int|uint|float|bool|str)\w*\(|\bnp\.(True|False)_\b|\btensor\(\["), "a numpy or torch scalar repr"),
    (re.compile(r"\b[Nn]a[Nn]\b"), "a nan"),
    (re.compile(r"\{'[^']*': "), "a raw dict"),
]


def screenshot(driver, page):
    """The whole page as a reader sees it at this width. The viewport is made as tall as the page
    for the capture: Chromium's captureBeyondViewport drew some pages reached by a sidebar link
    shifted to the left, with their layout intact."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    width, height = int(size["width"]), min(int(size["height"]), 16000)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "fromSurface": True, "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        })
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (page.replace("/", "__") + ".png")
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def outside_requests(driver, base):
    """URLs the browser requested from any host but the local server, from the performance log."""
    hosts = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url.startswith(("http:", "https:", "ws:", "wss:")) and not url.startswith(base):
                hosts.append(url)
    return hosts


class ResourceLinks(html.parser.HTMLParser):
    """The addresses a page loads by itself: scripts, stylesheets, images, frames (not <a> links)."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href") and attrs.get("rel") not in ("canonical", "next", "prev"):
            self.urls.append(attrs["href"])


def test_pages_load_nothing_from_a_cdn(built_book):
    """Every built page loads its scripts, styles and images from the book itself, MathJax included."""
    pages = sorted(built_book.rglob("*.html"))
    assert pages, "no HTML pages were built"
    remote, mathjax = [], set()
    for page in pages:
        parser = ResourceLinks()
        parser.feed(page.read_text(encoding="utf-8"))
        remote += [f"{page.relative_to(built_book)}: {url}" for url in parser.urls
                   if re.match(r"^(https?:)?//", url)]
        mathjax |= {url for url in parser.urls if "mathjax" in url.lower()}
    assert not remote, "pages load files from other hosts:\n" + "\n".join(remote)
    assert mathjax, "no page loads MathJax"
    assert all(not re.match(r"^(https?:)?//", url) for url in mathjax)
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").is_file()


VERDICT_LINE_PX = 600  # the tallest line of a chapter's verdict table at 1400 x 1000 px (the longest, path_lengths' ours, is 431 px)
VERDICT_FACTS = """
const texts = sel => Array.from(document.querySelectorAll(sel)).map(e => e.textContent.trim());
return {tally: texts('.verdict-tally-line .verdict-badge'),
        badges: texts('table#tab-reproduction-report .verdict-badge'),
        rows: document.querySelectorAll('table#tab-reproduction-report tbody tr').length,
        chapter_badges: Array.from(document.querySelectorAll('td .verdict-badge')).map(
            e => ({text: e.textContent.trim(), background: getComputedStyle(e).backgroundColor,
                   cell_background: getComputedStyle(e.closest('td')).backgroundColor})),
        verdict_tables: document.querySelectorAll('table.verdict-table').length,
        tallest_verdict_line: Math.max(0, ...Array.from(document.querySelectorAll('table.verdict-table tr')).map(
            r => r.getBoundingClientRect().height))};
"""


def verdict_problems(browser, page) -> list:
    """The landing page and the report show the tally of outcomes (book/_ext/resdepth_verdicts.py);
    on the report it adds up to its rows, and every row's verdict is a coloured badge. A chapter that
    judges claims (calls show_verdicts) shows each verdict as a coloured badge, not a filled cell, in
    a table whose lines are not a screen tall (issue: six narrow columns of long text)."""
    source = ROOT / f"{page}.py"
    judges = page.startswith("notebooks/") and "show_verdicts(" in source.read_text()
    if page not in ("book/intro", "book/reproduction_report") and not judges:
        return []
    facts = browser.execute_script(VERDICT_FACTS)
    if judges:
        badges = facts["chapter_badges"]
        transparent = "rgba(0, 0, 0, 0)"
        tall = facts["tallest_verdict_line"]
        return ([f"{page}: its verdict table shows no verdict badge"] if not badges else []) + [
            f"{page}: verdict badge {b['text']!r} has background {b['background']}, its cell {b['cell_background']}"
            for b in badges if b["background"] == transparent or b["cell_background"] == b["background"]] + (
            [f"{page}: no verdict table (resdepth.book.badged_verdict_table)"] if not facts["verdict_tables"] else []) + (
            [f"{page}: a line of its verdict table is {tall:.0f} px tall (the text is squeezed into narrow columns)"]
            if tall > VERDICT_LINE_PX else [])
    if not facts["tally"]:
        return [f"{page}: no tally of verdicts"]
    counts = [int(t.split(" ", 1)[0]) for t in facts["tally"]]
    if page == "book/intro":
        return []
    problems = []
    if len(facts["badges"]) != facts["rows"]:
        problems.append(f"{page}: {len(facts['badges'])} verdict badges for {facts['rows']} rows")
    if sum(counts) != facts["rows"]:
        problems.append(f"{page}: the tally counts {sum(counts)} verdicts, the table has {facts['rows']} rows")
    return problems


def test_every_page_in_a_real_browser(site, browser):
    base, requests = site
    pages = toc_pages()
    url_of = {page: base + page + ".html" for page in pages}
    problems, checked = [], []

    for i, page in enumerate(pages):
        requests.clear()
        if i == 0:
            browser.get(base + "index.html")  # the book's front door redirects to the root page
        else:
            links = [a for a in browser.find_elements("css selector", ".bd-sidebar-primary a[href]")
                     if urldefrag(a.get_attribute("href"))[0] == url_of[page]]
            if not links:
                problems.append(f"{pages[i - 1]}: no sidebar link to {page}")
                browser.get(url_of[page])
            else:
                browser.execute_script("arguments[0].click();", links[0])
        deadline = time.monotonic() + 60
        while (urldefrag(browser.current_url)[0] != url_of[page]
               or browser.execute_script("return document.readyState") != "complete"):
            if time.monotonic() > deadline:
                problems.append(f"{page}: did not load (at {browser.current_url})")
                break
            time.sleep(0.1)
        math_state = browser.execute_async_script(WAIT_FOR_MATHJAX)
        browser.execute_async_script(WAIT_FOR_IMAGES)
        facts = browser.execute_script(PAGE_FACTS)
        path = screenshot(browser, page)
        checked.append(page)

        statuses = dict(requests)
        page_path = urlparse(url_of[page]).path
        if statuses.get(page_path) != 200:
            problems.append(f"{page}: HTTP {statuses.get(page_path)} for the page itself")
        problems += [f"{page}: HTTP {code} for {p}" for p, code in requests
                     if code not in (200, 304) and p != "/favicon.ico"]  # Chromium asks for a favicon itself
        problems += [f"{page}: requested {url} (the book must work offline)"
                     for url in outside_requests(browser, base)]
        problems += [f"{page}: image not decoded: {img['src']}" for img in facts["images"] if img["width"] <= 0]
        if facts["math"] and math_state != "typeset":
            problems.append(f"{page}: {facts['math']} math elements but MathJax said {math_state!r}")
        problems += [f"{page}: math not typeset: {text!r}" for text in facts["untypeset"]]
        for raw in ("$$", "\\(", "\\["):
            if raw in facts["visible"]:
                at = facts["visible"].index(raw)
                problems.append(f"{page}: raw {raw!r} in the visible text: {facts['visible'][max(0, at - 60):at + 60]!r}")
        for pattern, what in BAD_OUTPUT:
            texts = facts["outputs"] + ([facts["all_text"]] if what == "a Python traceback" else
                                        [facts["visible"]] if what in ("a nan", "a raw dict") else [])
            for text in texts:
                match = pattern.search(text)
                if match:
                    problems.append(f"{page}: shows {what}: {text[max(0, match.start() - 80):match.end() + 80]!r}")
                    break
        problems += verdict_problems(browser, page)
        problems += [f"{page}: a text output scrolls sideways (show it with resdepth.book.show_text): {text!r}"
                     for text in facts["scrolling"]]
        reached = {urldefrag(href)[0] for href in facts["sidebar"] + facts["links"]}
        missing = [p for p in pages[1:] if url_of[p] not in {urldefrag(h)[0] for h in facts["sidebar"]}]
        if missing:
            problems.append(f"{page}: the sidebar has no link to {missing}")
        if url_of[pages[0]] not in reached and base + "index.html" not in reached:
            problems.append(f"{page}: no link back to the root page")
        print(f"{page}: {len(facts['images'])} images, {facts['math']} math elements ({math_state}), screenshot {path}")

    assert checked == pages
    assert not problems, "\n".join(problems)
