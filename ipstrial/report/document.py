"""The self-contained HTML report: one file that reads offline.

Everything the page needs is inside it: the style sheet inline, figures as PNG ``data:`` URIs, no script,
no font or style sheet from elsewhere, no link that loads anything. Text is escaped; tables come from the
results' own HTML views (:meth:`ipstrial.results.Result._repr_html_`) or from formatted frames.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["Page", "Section", "figure_png", "figure_svg", "frame_html"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1a1a1a; max-width: 1100px; margin: 2em auto; padding: 0 1.5em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
p.lead { color: #444; }
nav ol { columns: 2; font-size: 0.95em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
table th, table td { padding: 0.25em 0.6em; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
table td[style*="right"], table th[style*="right"] { white-space: nowrap; }
table thead th { border-bottom: 2px solid #888; }
table tfoot td { color: #555; font-size: 0.9em; border-bottom: none; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.9em; }
.headline { background: #f4f7fb; border-left: 4px solid #3a6ea5; padding: 0.6em 1em; }
.note { color: #555; font-size: 0.9em; }
dl.provenance dt { font-weight: 600; }
dl.provenance dd { margin: 0 0 0.4em 1.5em; font-family: ui-monospace, Menlo, Consolas, monospace;
                   font-size: 0.85em; overflow-wrap: anywhere; }
"""


def figure_png(fig: Figure, dpi: int = 150) -> bytes:
    """A figure as PNG bytes without a creation date or software stamp (identical bytes for a figure)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def figure_svg(fig: Figure) -> bytes:
    """A figure as SVG bytes, with a fixed id salt and no date, so that a figure gives identical bytes."""
    import matplotlib as mpl

    buffer = io.BytesIO()
    with mpl.rc_context({"svg.hashsalt": "ipstrial"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def frame_html(frame: pd.DataFrame, caption: str = "", notes: Sequence[str] = ()) -> str:
    """A formatted frame (strings) as an escaped HTML table with a caption and notes."""
    parts = ['<table class="ipstrial-table">']
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    index_name = frame.index.name or ""
    head = [index_name, *map(str, frame.columns)]
    parts.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>")
    for label, row in frame.iterrows():
        cells = [f'<th style="text-align: left">{html.escape(str(label))}</th>']
        cells += [f'<td style="text-align: right">{html.escape(str(v))}</td>' for v in row]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody>")
    if notes:
        span = len(head)
        parts.append(
            "<tfoot>" + "".join(f'<tr><td colspan="{span}">{html.escape(n)}</td></tr>' for n in notes)
        )
        parts.append("</tfoot>")
    parts.append("</table>")
    return "\n".join(parts)


@dataclass
class Section:
    """A section of the report: an anchor, a heading and its HTML body parts."""

    anchor: str
    title: str
    parts: list[str] = field(default_factory=list)

    def text(self, text: str, css: str = "") -> None:
        """A paragraph of escaped text."""
        klass = f' class="{css}"' if css else ""
        self.parts.append(f"<p{klass}>{html.escape(text)}</p>")

    def heading(self, text: str) -> None:
        """A sub-heading."""
        self.parts.append(f"<h3>{html.escape(text)}</h3>")

    def raw(self, markup: str) -> None:
        """HTML made by this package (a result's table): added as it is."""
        self.parts.append(markup)

    def figure(self, png: bytes, caption: str, alt: str) -> None:
        """A figure inline as a PNG data URI, with its caption."""
        data = base64.b64encode(png).decode("ascii")
        self.parts.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def items(self, entries: Iterable[str]) -> None:
        """A bulleted list of escaped text."""
        self.parts.append("<ul>" + "".join(f"<li>{html.escape(e)}</li>" for e in entries) + "</ul>")

    def definitions(self, entries: Iterable[tuple[str, str]]) -> None:
        """A definition list (term, value), escaped."""
        body = "".join(f"<dt>{html.escape(t)}</dt><dd>{html.escape(v)}</dd>" for t, v in entries)
        self.parts.append(f'<dl class="provenance">{body}</dl>')


@dataclass
class Page:
    """The report page: a title, a lead paragraph, a headline box and sections."""

    title: str
    lead: str = ""
    headline: str = ""
    sections: list[Section] = field(default_factory=list)

    def section(self, anchor: str, title: str) -> Section:
        """Add and return a new section."""
        section = Section(anchor, title)
        self.sections.append(section)
        return section

    def render(self) -> str:
        """The whole page as one HTML document (UTF-8; no external resource of any kind)."""
        toc = "".join(f'<li><a href="#{s.anchor}">{html.escape(s.title)}</a></li>' for s in self.sections)
        body = [
            f"<h1>{html.escape(self.title)}</h1>",
            f'<p class="lead">{html.escape(self.lead)}</p>' if self.lead else "",
            f'<div class="headline">{self.headline}</div>' if self.headline else "",
            f"<nav><ol>{toc}</ol></nav>",
        ]
        for s in self.sections:
            body.append(f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>')
            body += s.parts
            body.append("</section>")
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(part for part in body if part)
            + "\n</body>\n</html>\n"
        )
