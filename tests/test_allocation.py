"""Allocation-list exports (ipstrial.randomization.allocation): the SHA-256 over provenance and rows,
byte-identical round trips, detection of edits, and clear errors for text that is not an export.

The hash is recomputed here independently of the package: with ``grep | sha256sum`` and with the
Python recipe quoted in the module docstring (run as written), both from the exported files.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipstrial
import ipstrial._version
from ipstrial.errors import TrialDataError
from ipstrial.randomization import allocation as allocation_module
from ipstrial.randomization.allocation import AllocationList
from ipstrial.randomization.blocks import permuted_blocks, stratified_blocks
from ipstrial.randomization.minimization import minimization
from ipstrial.randomization.simple import biased_coin, simple

ARMS3 = ("IPS", "IPSE", "SAU")
VERSION = ipstrial.__version__


def strata_frame(n: int = 60, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "site": np.asarray(["Aarhus", "Odense", "Ålborg"], dtype=object)[rng.integers(0, 3, n)],
            "employed_prev5y": rng.integers(0, 2, n),
        },
        index=pd.Index([f"P{i:04d}" for i in range(1, n + 1)], name="participant_id"),
    )


LISTS = {
    "simple": lambda seed: simple(40, ARMS3, seed=seed),
    "biased_coin": lambda seed: biased_coin(30, ("IPS", "SAU"), p=0.75, seed=seed),
    "permuted_blocks": lambda seed: permuted_blocks(40, ARMS3, (3, 6), seed=seed),
    "stratified_blocks": lambda seed: stratified_blocks(strata_frame(), ARMS3, (3, 6), seed=seed),
    "minimization": lambda seed: minimization(strata_frame(), ARMS3, seed=seed),
    "no seed": lambda seed: simple(20, ARMS3, seed=np.random.default_rng(seed)),
}
READERS = {"csv": AllocationList.from_csv, "json": AllocationList.from_json}


def export(alloc: AllocationList, fmt: str) -> str:
    return alloc.to_csv() if fmt == "csv" else alloc.to_json()


# ----------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("name", list(LISTS))
def test_same_seed_gives_identical_bytes_and_the_round_trip_is_byte_identical(name, tmp_path):
    first, second = LISTS[name](2012), LISTS[name](2012)
    if name != "no seed":
        assert first.to_csv() == second.to_csv() and first.to_json() == second.to_json()
    for fmt, read in READERS.items():
        text = export(first, fmt)
        path = tmp_path / f"list.{fmt}"
        path.write_bytes(text.encode("utf-8"))
        for source in (text, path, str(path)):
            back = read(source)
            assert back.to_csv() == first.to_csv()
            assert back.to_json() == first.to_json()
            assert back.sha256 == first.sha256
            pd.testing.assert_frame_equal(back.frame, first.frame)


def test_csv_and_json_exports_record_the_same_hash():
    alloc = LISTS["stratified_blocks"](9)
    prov_json = json.loads(alloc.to_json())["provenance"]
    assert prov_json["sha256"] == alloc.sha256
    assert f'# sha256: "{alloc.sha256}"\n' in alloc.to_csv()
    assert prov_json == alloc.provenance()


def test_a_list_read_back_keeps_the_version_and_note_it_was_written_with(monkeypatch):
    alloc = LISTS["biased_coin"](5)
    csv_text, json_text = alloc.to_csv(), alloc.to_json()
    monkeypatch.setattr(ipstrial._version, "__version__", "9.9.9")
    assert alloc.provenance()["ipstrial_version"] == "9.9.9"  # a new list records the running version
    for text, read in ((csv_text, AllocationList.from_csv), (json_text, AllocationList.from_json)):
        back = read(text)
        assert back.provenance()["ipstrial_version"] == VERSION
        assert back.to_csv() == csv_text and back.sha256 == json.loads(json_text)["provenance"]["sha256"]
        # regenerating makes a new list, written by the running version
        assert back.regenerate().provenance()["ipstrial_version"] == "9.9.9"


def test_crlf_line_ends_and_a_byte_order_mark_are_not_content(tmp_path):
    alloc = LISTS["simple"](1)
    for fmt, read in READERS.items():
        path = tmp_path / f"windows.{fmt}"
        path.write_bytes(b"\xef\xbb\xbf" + export(alloc, fmt).replace("\n", "\r\n").encode("utf-8"))
        assert read(path).to_csv() == alloc.to_csv()


# ----------------------------------------------------------------------------- the recipes of the docstring
def test_grep_sha256sum_recipe_reproduces_the_hash(tmp_path):
    if shutil.which("grep") is None or shutil.which("sha256sum") is None:
        pytest.skip("grep and sha256sum are needed")
    doc = allocation_module.__doc__
    assert "    grep -v '^# sha256: ' list.csv | sha256sum\n" in doc
    for name in ("simple", "stratified_blocks"):
        alloc = LISTS[name](3)
        alloc.to_csv(tmp_path / "list.csv")
        proc = subprocess.run(
            "grep -v '^# sha256: ' list.csv | sha256sum",
            shell=True,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        assert proc.stdout.split()[0] == alloc.sha256


def test_python_recipe_of_the_docstring_reproduces_the_hash_of_a_json_export(tmp_path):
    doc = allocation_module.__doc__
    match = re.search(r"    python3 - list\.json <<'EOF'\n(.*?)\n    EOF\n", doc, flags=re.S)
    assert match is not None
    script = "\n".join(line.removeprefix("    ") for line in match.group(1).splitlines())
    for name in ("simple", "stratified_blocks", "no seed"):
        alloc = LISTS[name](3)
        alloc.to_json(tmp_path / "list.json")
        proc = subprocess.run(
            [sys.executable, "-", "list.json"],
            input=script,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert proc.stdout.strip() == alloc.sha256


def test_the_hash_is_that_of_the_canonical_provenance_and_rows():
    alloc = LISTS["stratified_blocks"](4)
    record = {k: v for k, v in alloc.provenance().items() if k != "sha256"}
    lines = "".join(f"# {k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in record.items())
    table = alloc.frame.reset_index().to_csv(index=False, lineterminator="\n")
    assert alloc.sha256 == hashlib.sha256((lines + table).encode("utf-8")).hexdigest()
    assert list(record) == [
        "format",
        "scheme",
        "parameters",
        "seed",
        "regenerable",
        "note",
        "ipstrial_version",
        "n",
        "columns",
        "dtypes",
        "index",
    ]


# ----------------------------------------------------------------------------- any edit is found
def _next_char(c: str) -> str:
    return "0" if c == "9" else chr(ord(c) + 1)


NEXT_VERSION = VERSION[:-1] + _next_char(VERSION[-1])
ROW_13 = '{"sequence": 13, "stratum": "all", "block_id": 0, "block_size": 0, "position": 0, "arm": "IPS"}'
# field: (text in the CSV export, text in the JSON export, old, new): one character of old becomes new
EDITS = {
    "scheme": ('# scheme: "biased_coin"', '"scheme": "biased_coin"', "coin", "coim"),
    "parameter p": ('"p": 0.75', '"p": 0.75', "0.75", "0.76"),
    "parameter arms": ('"arms": ["IPS"', '"arms": ["IPS"', "IPS", "IPT"),
    "seed": ("# seed: 123", '"seed": 123', "123", "124"),
    "version": ("# ipstrial_version: ", '"ipstrial_version": ', f'"{VERSION}"', f'"{NEXT_VERSION}"'),
    "note": ("regenerates this list", "regenerates this list", "this", "thit"),
    "regenerable": ("# regenerable: true", '"regenerable": true', "true", "truf"),
    "n": ("# n: 30", '"n": 30,', "30", "31"),
    "dtype": ('"sequence": "int64"', '"sequence": "int64"', "int64", "int65"),
    "row arm": ("\n13,all,0,0,0,IPS", ROW_13, "IPS", "IPT"),
    "row sequence": ("\n13,all", '{"sequence": 13,', "13", "14"),
    "row stratum": ("\n13,all", ROW_13, "all", "alm"),
}


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("field", list(EDITS))
def test_editing_one_character_is_found(fmt, field):
    alloc = biased_coin(30, ("IPS", "SAU"), p=0.75, seed=123)
    text = export(alloc, fmt)
    csv_anchor, json_anchor, old, new = EDITS[field]
    anchor = csv_anchor if fmt == "csv" else json_anchor
    start = text.index(anchor)
    end = text.index(old, start) + len(old)
    edited = text[:start] + text[start:end].replace(old, new) + text[end:]
    assert len(edited) == len(text) and sum(a != b for a, b in zip(text, edited, strict=True)) == 1
    READERS[fmt](text)  # the unedited export is accepted
    with pytest.raises(TrialDataError, match=r"altered") as info:
        READERS[fmt](edited)
    assert "Do not use this list" in str(info.value)


@pytest.mark.parametrize(
    ("fmt", "old", "new"),
    [
        ("csv", "# seed: 123", "# seed:  123"),  # white space in a provenance line
        ("csv", "\n13,", "\n013,"),  # the same number written differently
        ("csv", "\n13,all", '\n13,"all"'),  # needless quotes
        ("csv", "# index: null\n", "# index: null\n# extra: 1\n"),  # a line added
        ("json", '{"sequence": 13,', '{"sequence": 13.0,'),  # an int written as a float
        ("json", '"seed": 123', '"seed": 123.0'),
        ("json", '"regenerable": true,\n', ""),  # a provenance entry removed
    ],
)
def test_edits_that_keep_the_values_are_found_too(fmt, old, new):
    text = export(biased_coin(30, ("IPS", "SAU"), p=0.75, seed=123), fmt)
    assert old in text
    with pytest.raises(TrialDataError, match=r"altered"):
        READERS[fmt](text.replace(old, new, 1))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_row_removed_or_added_is_found(fmt):
    text = export(biased_coin(30, ("IPS", "SAU"), p=0.75, seed=123), fmt)
    lines = text.splitlines(keepends=True)
    k = next(i for i, line in enumerate(lines) if re.match(r'\s*\{?"?sequence"?: 13,|13,', line))
    removed = "".join(lines[:k] + lines[k + 1 :])
    added = "".join(lines[: k + 1] + [lines[k]] + lines[k + 1 :])
    for edited in (removed, added):
        with pytest.raises(TrialDataError, match=r"allocations? but its provenance records n = 30"):
            READERS[fmt](edited)


def _rehash_csv(text: str) -> str:
    """A CSV export with its recorded SHA-256 recomputed, as someone covering up an edit would."""
    hashed = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("# sha256: "))
    digest = hashlib.sha256(hashed.encode("utf-8")).hexdigest()
    return re.sub(r'# sha256: "[0-9a-f]{64}"', f'# sha256: "{digest}"', text)


def test_a_recomputed_hash_does_not_hide_an_inconsistent_export():
    text = biased_coin(30, ("IPS", "SAU"), p=0.75, seed=123).to_csv()
    for old, new in (("\n13,", "\n013,"), ("# regenerable: true", "# regenerable: false")):
        forged = _rehash_csv(text.replace(old, new, 1))
        with pytest.raises(TrialDataError, match=r"not the one ipstrial writes for these allocations"):
            AllocationList.from_csv(forged)
    # a consistent edit with a recomputed hash is accepted: the SHA-256 detects edits, it is no signature
    forged = _rehash_csv(text.replace(f'"{VERSION}"', f'"{NEXT_VERSION}"', 1))
    assert AllocationList.from_csv(forged).provenance()["ipstrial_version"] == NEXT_VERSION


def test_json_reordered_keys_or_reformatted_values():
    alloc = biased_coin(30, ("IPS", "SAU"), p=0.75, seed=123)
    document = json.loads(alloc.to_json())
    # re-indenting the JSON keeps every value and the order: it still verifies
    again = AllocationList.from_json(json.dumps(document, indent=4, ensure_ascii=True))
    assert again.to_json() == alloc.to_json()
    # reordering the provenance changes the canonical text: found
    provenance = document["provenance"]
    document["provenance"] = {"scheme": provenance.pop("scheme"), **provenance}
    with pytest.raises(TrialDataError, match=r"the allocation list was altered"):
        AllocationList.from_json(json.dumps(document))


# ----------------------------------------------------------------------------- text that is not an export
@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("text", ["", " ", "\n", "  \n\t\n"])
def test_empty_text(fmt, text):
    with pytest.raises(TrialDataError, match=rf"the allocation-list {fmt.upper()} text is empty"):
        READERS[fmt](text)


def test_csv_text_given_to_the_json_reader():
    text = LISTS["simple"](1).to_csv()
    with pytest.raises(TrialDataError, match=r"this is CSV text .* read it with AllocationList.from_csv"):
        AllocationList.from_json(text)


def test_json_text_given_to_the_csv_reader():
    text = LISTS["simple"](1).to_json()
    with pytest.raises(TrialDataError, match=r"this is JSON text .* read it with AllocationList.from_json"):
        AllocationList.from_csv(text)


@pytest.mark.parametrize(
    "text",
    [
        "sequence,stratum,block_id,block_size,position,arm\n",  # header only
        "sequence,stratum,block_id,block_size,position,arm\n1,all,0,0,0,IPS\n",  # no provenance
        "just some words\nand more\n",
    ],
)
def test_csv_without_the_provenance_lines(text):
    with pytest.raises(TrialDataError, match=r"does not start with the '# key: value' provenance lines"):
        AllocationList.from_csv(text)


def test_csv_export_cut_after_the_header_or_the_provenance():
    text = LISTS["biased_coin"](123).to_csv()
    header_end = text.index("\n", text.index("sequence,stratum")) + 1
    with pytest.raises(TrialDataError, match=r"has 0 allocations but its provenance records n = 30"):
        AllocationList.from_csv(text[:header_end])
    with pytest.raises(TrialDataError, match=r"no table after them .* truncated"):
        AllocationList.from_csv(text[: text.index("sequence,stratum")])
    with pytest.raises(TrialDataError, match=r"provenance line 6 \(note\) is not valid JSON .* truncated"):
        AllocationList.from_csv(text[: text.index("regenerates")])


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.99])
def test_truncated_json(cut):
    text = LISTS["simple"](1).to_json()
    with pytest.raises(TrialDataError, match=r"the allocation-list JSON is incomplete or malformed \(line"):
        AllocationList.from_json(text[: int(len(text) * cut)])


def test_text_that_is_not_json():
    with pytest.raises(TrialDataError, match=r"the text is not JSON \(line 1, column 1"):
        AllocationList.from_json("sequence,arm\n1,IPS\n")
    with pytest.raises(TrialDataError, match=r"not an ipstrial allocation-list JSON export"):
        AllocationList.from_json('{"a": 1}')
    with pytest.raises(TrialDataError, match=r"not an ipstrial allocation-list export"):
        AllocationList.from_csv('# scheme: "simple"\nsequence,arm\n1,A\n')


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_path_that_does_not_exist(fmt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / f"missing.{fmt}"
    for source in (missing, str(missing), "list.csv"):
        with pytest.raises(TrialDataError, match=r"the allocation-list file '.*' was not found") as info:
            READERS[fmt](source)
        assert str(source) in str(info.value)
        assert isinstance(info.value.__cause__, FileNotFoundError)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_directory(fmt, tmp_path):
    for source in (tmp_path, str(tmp_path)):
        with pytest.raises(TrialDataError, match=r"is a directory, not an allocation-list export"):
            READERS[fmt](source)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_binary_file(fmt, tmp_path):
    path = tmp_path / f"picture.{fmt}"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(TrialDataError, match=r"is not UTF-8 text \(byte 0x89 at offset 0\)"):
        READERS[fmt](path)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_unreadable_file(fmt, tmp_path, monkeypatch):
    path = tmp_path / f"list.{fmt}"
    path.write_text(export(LISTS["simple"](1), fmt), encoding="utf-8")

    def refuse(self):  # noqa: ANN001, ANN202 - stands in for Path.read_bytes
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(TrialDataError, match=r"cannot read the allocation-list file .* \(permission denied"):
        READERS[fmt](path)


def test_a_file_whose_name_starts_with_a_hash_sign_is_read_from_a_path_object(tmp_path):
    alloc = LISTS["simple"](1)
    path = tmp_path / "#list.csv"
    alloc.to_csv(path)
    assert AllocationList.from_csv(path).to_csv() == alloc.to_csv()


def test_what_is_taken_for_text_and_what_for_a_path():
    looks = allocation_module._looks_like_text
    for text in ("", "  ", "a\nb", "a\r\n", "#x", "  {", "{}"):
        assert looks(text)
    for path in ("list.csv", "/tmp/list.json", "C:\\lists\\list.csv", "a # b.csv"):
        assert not looks(path)
    with pytest.raises(TypeError, match=r"got bytes"):
        AllocationList.from_csv(b"# format")  # type: ignore[arg-type]


def test_an_export_of_the_earlier_format():
    text = LISTS["simple"](1).to_csv().replace("ipstrial allocation list 2", "ipstrial allocation list 1")
    with pytest.raises(TrialDataError, match=r"earlier development version .* regenerate the list"):
        AllocationList.from_csv(text)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("# n: 30", '# n: "30"', r"the provenance field 'n' is '30', not a int"),
        ("# seed: 123", "# seed: true", r"the provenance field 'seed' is True, not a int or null"),
        ("# index: null\n", "", r"lacks \['index'\]"),
    ],
)
def test_a_provenance_field_of_the_wrong_type(old, new, message):
    text = LISTS["biased_coin"](123).to_csv()
    with pytest.raises(TrialDataError, match=message):
        AllocationList.from_csv(text.replace(old, new))
