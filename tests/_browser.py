"""Open an HTML file in headless Chromium: screenshot, rendered DOM and the network requests it made.

The helper for the browser checks of issue 10 (the HTML report must read offline: images inline, no external
scripts, fonts or styles). One Chromium process does the three jobs at once::

    from _browser import chromium_available, render_page   # tests/ is on sys.path under pytest

    page = render_page("out/report.html", tmp_path / "report.png")
    assert not page.blank                    # the screenshot is a PNG with more than one colour
    assert "59.9" in page.text               # the text of the rendered DOM (scripts and styles left out)
    assert page.external_requests == ()      # no request left the file
    assert all(image.ok for image in page.images)   # every <img> is an inline image that decodes

How it works: ``/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
--disable-background-networking --disable-component-update --disable-sync --user-data-dir=<fresh tmp dir>
--window-size=1280,4000 --screenshot=PNG --dump-dom --log-net-log=JSON file://...``. ``--dump-dom`` prints the
DOM after the load event (so after the page's own scripts ran); ``--screenshot`` writes the viewport (1280 x
4000 CSS pixels); ``--log-net-log`` writes Chromium's NetLog, a JSON file whose ``URL_REQUEST_START_JOB``
events carry the url, the initiator and the network isolation key of every request. Chromium itself also
makes requests (component updates, time and account checks) whatever the flags say; they have no initiator
and an isolation key of ``null null`` or a Google site. A request of the page has the ``file://`` top frame
as its isolation key (or a ``file://`` initiator): those are the page's requests. ``file:``, ``data:``,
``blob:``, ``about:`` and ``chrome:`` urls are local; every other url the page requested is external.

Measured on this machine (Chromium 156, Debian 12, 2 cores): 0.9-1.2 s per page, the same for a
self-contained page and for one whose external requests fail (no network: they fail at once).
Limits: requests started after the load event by timers are not waited for; the net log sees every
request the page started, whether it succeeded or not, which is what "no request leaves the file" needs.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import html.parser
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (``apt-get install chromium``); ``.ci/run`` installs it when it is missing."""

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,4000",
)
"""The Chromium flags of every render; ``--user-data-dir`` (a fresh temporary directory) is added."""

LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "chrome-extension:", "devtools:")
"""URL schemes that do not leave the machine."""


def chromium_available() -> bool:
    """True when ``/usr/bin/chromium`` exists and is executable (tests skip otherwise)."""
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


@dataclasses.dataclass(frozen=True)
class PageImage:
    """One ``<img>`` of the rendered DOM.

    Attributes
    ----------
    src
        The ``src`` attribute, cut to 80 characters (data URIs are long).
    inline
        True for a ``data:`` URI.
    ok
        True when the image is inline and its bytes decode (PNG, JPEG, GIF, WebP by Pillow; SVG when the
        decoded text contains ``<svg``).
    width, height
        Pixel size of a decoded raster image, else 0.
    """

    src: str
    inline: bool
    ok: bool
    width: int = 0
    height: int = 0


@dataclasses.dataclass(frozen=True)
class PageRender:
    """What headless Chromium made of one HTML file.

    Attributes
    ----------
    url
        The ``file://`` url opened.
    png
        Path of the screenshot (1280 x 4000).
    dom
        The serialised DOM after the load event (``--dump-dom``).
    text
        The visible text of ``dom``: text nodes outside ``<script>``, ``<style>`` and ``<head>``, whitespace
        runs collapsed to one space.
    requests
        Every url the page requested (its own ``file://`` url included), in the order of the net log.
    external_requests
        The urls of ``requests`` whose scheme is not local (see ``LOCAL_SCHEMES``), without repeats.
    images
        One :class:`PageImage` per ``<img>`` in ``dom``.
    svg_count
        Number of inline ``<svg>`` elements in ``dom``.
    seconds
        Wall time of the Chromium run.
    stderr
        Chromium's standard error (dbus and GPU warnings are normal in a container).
    """

    url: str
    png: Path
    dom: str
    text: str
    requests: tuple[str, ...]
    external_requests: tuple[str, ...]
    images: tuple[PageImage, ...]
    svg_count: int
    seconds: float
    stderr: str

    @property
    def blank(self) -> bool:
        """True when the screenshot is missing, not a PNG, or has one colour only."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.png) as image:
                if image.format != "PNG":
                    return True
                extrema = image.convert("RGB").getextrema()
        except (OSError, UnidentifiedImageError):
            return True
        return all(low == high for low, high in extrema)


class _DomReader(html.parser.HTMLParser):
    """Collects visible text, ``<img>`` sources and the number of ``<svg>`` elements."""

    _HIDDEN = frozenset({"script", "style", "head", "title", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.sources: list[str] = []
        self.svg_count = 0
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag == "img":
            self.sources.append(dict(attrs).get("src") or "")
        elif tag == "svg":
            self.svg_count += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _image(src: str) -> PageImage:
    """Decode an ``<img>`` source when it is a data URI (``data:[<type>][;base64],<data>``, RFC 2397)."""
    short = src[:80]
    if not src.startswith("data:") or "," not in src:
        return PageImage(short, inline=False, ok=False)
    header, payload = src[5:].split(",", 1)
    try:
        if header.endswith(";base64"):
            raw = base64.b64decode(payload, validate=False)
        else:
            from urllib.parse import unquote_to_bytes

            raw = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return PageImage(short, inline=True, ok=False)
    if header.startswith("image/svg"):
        return PageImage(short, inline=True, ok=b"<svg" in raw)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            width, height = image.size
    except (OSError, UnidentifiedImageError):
        return PageImage(short, inline=True, ok=False)
    return PageImage(short, inline=True, ok=width > 0 and height > 0, width=width, height=height)


def page_requests(net_log: Path) -> tuple[str, ...]:
    """The urls the page requested, from a Chromium NetLog JSON file (``--log-net-log``).

    A ``URL_REQUEST_START_JOB`` event whose ``network_isolation_key`` starts with ``file://`` (the page's top
    frame) or whose ``initiator`` starts with ``file://`` is the page's; Chromium's own background requests
    (initiator ``not an origin``, isolation key ``null null`` or a Google site) are left out. A log cut
    short (Chromium killed before it closed the JSON) is read up to its last complete event.
    """
    text = net_log.read_text(encoding="utf-8", errors="replace")
    try:
        log = json.loads(text)
    except json.JSONDecodeError:
        cut = text.rstrip().rstrip(",")
        cut = cut[: cut.rfind("}") + 1] if not cut.endswith("}") else cut
        log = json.loads(cut + "]}")
    kinds = {value: name for name, value in log["constants"]["logEventTypes"].items()}
    urls: list[str] = []
    for event in log.get("events", []):
        if kinds.get(event.get("type")) != "URL_REQUEST_START_JOB":
            continue
        params = event.get("params") or {}
        url = params.get("url")
        if not url:
            continue
        key = str(params.get("network_isolation_key", ""))
        initiator = str(params.get("initiator", ""))
        if key.startswith("file://") or initiator.startswith("file://"):
            urls.append(url)
    return tuple(urls)


def render_page(
    html_path: str | os.PathLike[str], png_path: str | os.PathLike[str], *, timeout: float = 60.0
) -> PageRender:
    """Open ``html_path`` in headless Chromium; return its screenshot, DOM text and requests.

    Parameters
    ----------
    html_path
        The HTML file to open (as a ``file://`` url).
    png_path
        Where the screenshot goes (a PNG of 1280 x 4000 pixels); its folder must exist.
    timeout
        Seconds before Chromium is stopped and ``RuntimeError`` raised.

    Returns
    -------
    PageRender
        ``png``, ``dom``, ``text``, ``requests``, ``external_requests``, ``images``, ``svg_count``,
        ``seconds``, ``stderr``; ``blank`` tells a blank screenshot.

    Raises
    ------
    FileNotFoundError
        When Chromium or ``html_path`` is absent.
    RuntimeError
        When Chromium exits with an error, times out, or writes no screenshot (its stderr is in the message).
    """
    page = Path(html_path).resolve()
    png = Path(png_path).resolve()
    if not chromium_available():
        raise FileNotFoundError(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
        )
    if not page.is_file():
        raise FileNotFoundError(f"no HTML file at {page}")
    if png.exists():
        png.unlink()
    workdir = Path(tempfile.mkdtemp(prefix="ipstrial-chromium-"))
    try:
        net_log = workdir / "netlog.json"
        command = [
            str(CHROMIUM),
            *FLAGS,
            f"--user-data-dir={workdir / 'profile'}",
            f"--screenshot={png}",
            "--dump-dom",
            f"--log-net-log={net_log}",
            page.as_uri(),
        ]
        start = time.perf_counter()
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"chromium did not finish within {timeout:g} s on {page}") from exc
        seconds = time.perf_counter() - start
        if done.returncode != 0 or not png.is_file():
            raise RuntimeError(
                f"chromium failed on {page} (exit status {done.returncode}, screenshot "
                f"{'written' if png.is_file() else 'missing'}):\n{done.stderr[-3000:]}"
            )
        requests = page_requests(net_log) if net_log.is_file() else ()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    reader = _DomReader()
    reader.feed(done.stdout)
    reader.close()
    external = tuple(dict.fromkeys(u for u in requests if not u.lower().startswith(LOCAL_SCHEMES)))
    return PageRender(
        url=page.as_uri(),
        png=png,
        dom=done.stdout,
        text=" ".join(" ".join(reader.parts).split()),
        requests=requests,
        external_requests=external,
        images=tuple(_image(src) for src in reader.sources),
        svg_count=reader.svg_count,
        seconds=seconds,
        stderr=done.stderr,
    )
