"""The headless-Chromium helper (tests/_browser.py) on two pages written here: one self-contained, one not.

The reference is the page itself: what it contains (a number, an inline PNG drawn here pixel by pixel) and
what it links to (an image on a TEST-NET-3 address, RFC 5737, and a stylesheet on example.com, RFC 2606),
so that each check can fail: a helper that missed requests would pass the first page and fail the second.
"""

from __future__ import annotations

import base64
import io

import pytest
from _browser import chromium_available, page_requests, render_page

pytestmark = pytest.mark.skipif(
    not chromium_available(),
    reason="/usr/bin/chromium is absent: install Debian's chromium (apt-get install -y chromium; "
    ".ci/run does)",
)


def _png_data_uri() -> str:
    """A 40 x 20 PNG, left half red and right half blue, as a data URI."""
    from PIL import Image

    image = Image.new("RGB", (40, 20), (220, 30, 30))
    image.paste((30, 30, 220), (20, 0, 40, 20))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


SELF_CONTAINED = """<!doctype html>
<html><head><meta charset="utf-8"><title>offline</title>
<style>body {{ font-family: sans-serif; }} td {{ padding: 4px; }}</style>
<script>document.addEventListener("DOMContentLoaded", () => {{
  document.getElementById("late").textContent = "written by a script: " + (6 * 7);
}});</script></head>
<body><h1>Risk difference</h1>
<table class="ipstrial-result"><tr><td>IPS vs SAU</td><td>0.157</td><td>(0.067, 0.243)</td></tr></table>
<p id="late"></p>
<img alt="figure" src="{src}" width="400" height="200">
<svg width="50" height="50"><circle cx="25" cy="25" r="20" fill="green"/></svg>
</body></html>
"""

EXTERNAL = """<!doctype html>
<html><head><meta charset="utf-8"><link rel=stylesheet href="https://example.com/a.css"></head>
<body><p>leaks 12345</p><img src="http://198.51.100.1/x.png"></body></html>
"""


def test_self_contained_page(tmp_path):
    page_file = tmp_path / "offline.html"
    page_file.write_text(SELF_CONTAINED.format(src=_png_data_uri()), encoding="utf-8")
    page = render_page(page_file, tmp_path / "offline.png")

    assert page.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not page.blank
    from PIL import Image

    with Image.open(page.png) as shot:
        assert shot.size == (1280, 4000)
        # the inline image is drawn: its red and blue halves are both on the screenshot
        colours = {rgb for _, rgb in shot.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert any(r > 180 and g < 80 and b < 80 for r, g, b in colours)
    assert any(b > 180 and r < 80 and g < 80 for r, g, b in colours)

    assert "0.157" in page.text and "(0.067, 0.243)" in page.text
    assert "written by a script: 42" in page.text  # the DOM after the page's scripts ran
    assert "font-family" not in page.text and "addEventListener" not in page.text  # no style or script text
    assert page.external_requests == ()
    assert [(i.inline, i.ok, i.width, i.height) for i in page.images] == [(True, True, 40, 20)]
    assert page.svg_count == 1


def test_external_requests_are_reported(tmp_path):
    page_file = tmp_path / "leaky.html"
    page_file.write_text(EXTERNAL, encoding="utf-8")
    page = render_page(page_file, tmp_path / "leaky.png")

    assert set(page.external_requests) == {"http://198.51.100.1/x.png", "https://example.com/a.css"}
    assert "leaks 12345" in page.text
    assert [(i.inline, i.ok) for i in page.images] == [(False, False)]
    # Chromium's own background requests (updates, accounts) are not counted as the page's
    assert not any("google" in url for url in page.requests)


def test_blank_screenshot_is_detected(tmp_path):
    page_file = tmp_path / "blank.html"
    page_file.write_text("<!doctype html><html><body></body></html>", encoding="utf-8")
    page = render_page(page_file, tmp_path / "blank.png")
    assert page.blank
    assert page.text == "" and page.external_requests == ()


def test_net_log_cut_short_is_read(tmp_path):
    """A NetLog without its closing ``]}`` (Chromium stopped early) still yields the page's requests."""
    log = (
        '{"constants": {"logEventTypes": {"URL_REQUEST_START_JOB": 7, "OTHER": 8}},\n"events": [\n'
        '{"type": 7, "params": {"url": "https://a.example/x.js", "initiator": "null",'
        ' "network_isolation_key": "file:// file://"}},\n'
        '{"type": 7, "params": {"url": "https://update.example/u", "initiator": "not an origin",'
        ' "network_isolation_key": "null null"}},\n'
        '{"type": 8, "params": {"url": "https://b.example/"}},\n'
    )
    path = tmp_path / "net.json"
    path.write_text(log, encoding="utf-8")
    assert page_requests(path) == ("https://a.example/x.js",)
