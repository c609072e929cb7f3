"""Progress bars: on a terminal only, never with --quiet or in a pipe."""

from __future__ import annotations

import io
import sys

from ipstrial._progress import progress_for


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_quiet_or_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_for(quiet=False) is None
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert progress_for(quiet=True) is None


def test_a_bar_on_a_terminal_passes_every_item_through(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    bar = progress_for(quiet=False)
    assert bar is not None
    assert list(bar(iter(range(5)), 5, "analyses")) == [0, 1, 2, 3, 4]
    assert "analyses:   0%| | 0/5" in terminal.getvalue().replace("          ", " ")


def test_run_quiet_prints_nothing_but_the_paths(tmp_path, capsys):
    from pathlib import Path

    from ipstrial.cli import main

    plan = Path(__file__).resolve().parents[1] / "analysis" / "inklusion.toml"
    assert main(["run", str(plan), "--out", str(tmp_path), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [
        f"results: {tmp_path / 'results.json'}",
        f"report:  {tmp_path / 'report.html'}",
    ]
