"""What every ``ipstrial`` sub-command shares: the user error, the parser, argument types and checks.

:class:`_UserError` is a one-line error without a traceback (:func:`ipstrial.cli.main` prints it with exit
status 2); the argument types (seed, trial size, whole numbers) refuse bad values before anything runs;
:func:`_check_output` refuses an unusable output file before any computation; the built-in scenario names are
read on first use so that ``--help`` and ``--version`` stay fast.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import NoReturn

_ALIASES = {"inklusion-null": "null"}
"""Earlier names of built-in scenarios, still accepted."""

_SEED_MAX = 2**63 - 1  # a seed must fit a signed 64-bit integer (numpy, CSV readers, the provenance)


class _UserError(Exception):
    """A user error found by the command line itself; :func:`main` prints it on one line, exit status 2.

    The message has the form ``<what is wrong>; <what to do>``.
    """


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, ``<prog>: error: <message>; <what to do>``."""

    def error(self, message: str) -> NoReturn:
        """Print the error on one line (with a pointer to ``--help`` unless it says what to do) and exit 2."""
        hint = "" if "; " in message else f"; see '{self.prog} --help'"
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut after 30 characters."""
    return repr(text) if len(text) <= 30 else repr(text[:30]) + "..."


def _seed_type(text: str) -> int:
    """argparse type of ``--seed``: a whole number from 0 to 2**63 - 1 (written in decimal digits)."""
    value = text.strip()
    allowed = f"give a whole number from 0 to 2**63 - 1 ({_SEED_MAX}), e.g. --seed 2012"
    if re.fullmatch(r"-[0-9]+", value):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is negative; {allowed}")
    if not re.fullmatch(r"[0-9]+", value):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a whole number; {allowed}")
    # compare the digits before int(): Python refuses to convert strings of more than 4300 digits
    if len(value.lstrip("0")) > len(str(_SEED_MAX)) or int(value) > _SEED_MAX:
        raise argparse.ArgumentTypeError(f"{_shown(text)} is larger than 2**63 - 1; {allowed}")
    return int(value)


def _n_type(text: str) -> int:
    """argparse type of ``--n``: a positive whole number of participants."""
    value = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is not a whole number; --n is the number of participants, e.g. --n 720"
        )
    digits = value.lstrip("+-").lstrip("0")
    if not digits or value.startswith("-"):
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is not a positive number of participants; give 1 or more, e.g. --n 720"
        )
    if len(digits) > 18:  # beyond any trial (and int() refuses strings of more than 4300 digits)
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is too large; --n is the number of participants, e.g. --n 720"
        )
    return int(value)


def _check_output(out: str | None, flag: str = "--out") -> None:
    """Refuse, before any computation, an ``--out`` (or ``flag``) file that cannot be written (``-``: standard
    output)."""
    if out is None or out == "-":
        return
    if not out.strip():
        raise _UserError(f"{flag} is empty; give a file name, e.g. --out trial.csv, or - for standard output")
    path = Path(out)
    if path.is_dir():
        raise _UserError(
            f"{flag} '{out}' is a directory, not a file; give a file name in it, "
            f"e.g. {flag} '{path / 'out.csv'}'"
        )
    parent = path.parent
    if not parent.exists():
        raise _UserError(
            f"the directory '{parent}' of {flag} '{out}' does not exist; create it first "
            f"(mkdir -p '{parent}') or choose another path"
        )
    if not parent.is_dir():
        raise _UserError(
            f"'{parent}' in {flag} '{out}' is not a directory; choose a path inside an existing directory"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _UserError(
            f"cannot write to the directory '{parent}' of {flag} '{out}' (permission denied); "
            "choose a directory you can write to"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise _UserError(
            f"{flag} '{out}' exists and is not writable (permission denied); "
            "make it writable or choose another file name"
        )


def _os_error_text(exc: OSError) -> str:
    """One line for a file-system error that got past the up-front checks (e.g. a full disk)."""
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    where = f"'{exc.filename}': " if exc.filename is not None else ""
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        fix = "check the path"
    elif isinstance(exc, PermissionError):
        fix = "check the permissions, or choose another path"
    elif isinstance(exc, IsADirectoryError):
        fix = "give the path of a file, not a directory"
    else:
        fix = "check the path and the disk (e.g. free space), or choose another path"
    return f"{where}{reason}; {fix}"


def _scenario(name: str):  # noqa: ANN202 - returns a Scenario; imported lazily to keep --help fast
    from ipstrial.validation._scenarios import builtin_scenario

    return builtin_scenario(_ALIASES.get(name, name))


class _ScenarioNames:
    """The built-in scenario names (:data:`ipstrial.validation.SCENARIOS`) as the choices of ``--scenario``.

    Read on first use (a value to check, a help text to print), so that building the parser for ``--help`` or
    ``--version`` does not import numpy and pandas.
    """

    def _names(self) -> tuple[str, ...]:
        from ipstrial.validation._scenarios import SCENARIOS

        return tuple(SCENARIOS)

    def __contains__(self, name: object) -> bool:
        return name in self._names() or name in _ALIASES

    def __iter__(self):  # noqa: ANN204 - an iterator of str
        return iter(self._names())


def _whole_type(flag: str, example: str):  # noqa: ANN202 - an argparse type: str -> int
    """argparse type of a count such as ``--reps``: a whole number (its range is checked by the API)."""

    def parse(text: str) -> int:
        value = text.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", value):
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not a whole number; e.g. {flag} {example}")
        return int(value)

    return parse


def _cores() -> int:
    """The cores this process may run on (the default of ``--workers``)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1  # pragma: no cover - platforms without sched_getaffinity
