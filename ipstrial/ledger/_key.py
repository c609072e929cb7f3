"""The secret allocation key: generated, written with mode 0600, read back safely, committed by SHA-256.

The key is 32 random bytes (:func:`secrets.token_bytes`), stored hex-encoded in its own file. The ledger keeps
only the commitment ``SHA-256(key)``, so the database reveals nothing about the key (a preimage of SHA-256 is
infeasible to find, FIPS 180-4) while a key file can be checked against it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path
from secrets import token_bytes

from ipstrial.errors import LedgerError

KEY_BYTES = 32


def commitment(key: bytes) -> str:
    """The commitment of ``key``: ``SHA-256(key)`` as hex."""
    return hashlib.sha256(key).hexdigest()


def mac(key: bytes, message: str) -> str:
    """``HMAC-SHA256(key, message)`` as hex (RFC 2104)."""
    return hmac.new(key, message.encode(), "sha256").hexdigest()


def new_key_file(path: str | os.PathLike) -> bytes:
    """Generate a key and write it, hex-encoded, to the new file ``path`` (mode 0600; never overwritten)."""
    key = token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        raise LedgerError(
            f"key file '{path}' already exists; a key is never overwritten: choose another key file name"
        ) from None
    except OSError as exc:
        raise LedgerError(f"cannot create key file '{path}': {exc.strerror}; check the path") from None
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return key


def read_key_file(path: str | os.PathLike, expected: str | None = None) -> bytes:
    """Read the key in ``path``; refuse a file open to group or others, or a key not matching ``expected``.

    Parameters
    ----------
    path:
        The key file written by :func:`new_key_file`.
    expected:
        The ledger's commitment ``SHA-256(key)`` (hex); ``None`` skips the check.
    """
    p = Path(path)
    try:
        mode = stat.S_IMODE(p.stat().st_mode)
    except OSError as exc:
        raise LedgerError(f"cannot read key file '{path}': {exc.strerror}; check the path") from None
    if mode & 0o077:
        raise LedgerError(
            f"key file '{path}' has mode {mode:04o} and is readable or writable by group or others; "
            f"refused: run 'chmod 600 {path}'"
        )
    try:
        key = bytes.fromhex(p.read_text().strip())
    except (OSError, UnicodeDecodeError, ValueError):  # a folder, unreadable, binary or not hex
        key = b""
    if len(key) != KEY_BYTES:
        raise LedgerError(
            f"key file '{path}' does not hold a {KEY_BYTES}-byte hex key; give the key file written by "
            "'ipstrial ledger init'"
        )
    if expected is not None and not hmac.compare_digest(commitment(key), expected):
        raise LedgerError(
            f"key file '{path}' is not this ledger's key (its SHA-256 differs from the ledger's commitment "
            f"{expected[:16]}...); give the key file written when this ledger was created. If that key fails "
            "too, compare the commitment with the one 'ledger init' printed and the protocol recorded: a "
            "different one means the ledger was re-keyed"
        )
    return key
