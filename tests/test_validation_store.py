"""Resuming a validation study from its folder: finished batches kept as they complete, only the missing ones
rerun, the same bits as an uninterrupted run; a folder of another study refused."""

from __future__ import annotations

import dataclasses
import json
import math

import pandas as pd
import pytest

from ipstrial.cli import main
from ipstrial.errors import ParameterError
from ipstrial.synthetic import INKLUSION
from ipstrial.validation import _engine, run_study
from ipstrial.validation._engine import records_frame
from ipstrial.validation._store import Store

ARGS = {"reps": 8, "seed": 5, "estimators": ["rd_wald", "delta_cost"], "batch_size": 2, "quiet": True}


def _bits(records):
    """The records as text with every float to 17 significant digits: equal text, equal bits."""
    return records.to_csv(index=False, float_format="%.17g")


@pytest.fixture(scope="module")
def whole():
    """The study run in one go, without a folder."""
    return run_study("inklusion", **ARGS)


def _batches(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("batch-"))


def _counting(monkeypatch, stop_after=None):
    """Patch the engine's batch function to count its calls (and raise KeyboardInterrupt after some)."""
    original = _engine._batch
    calls = []

    def batch(task):
        if stop_after is not None and len(calls) == stop_after:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C during this batch
        calls.append(task.reps)
        return original(task)

    monkeypatch.setattr(_engine, "_batch", batch)
    return calls


def test_an_interrupted_study_resumes_with_the_same_bits(tmp_path, monkeypatch, whole):
    with pytest.raises(KeyboardInterrupt):
        with monkeypatch.context() as m:
            _counting(m, stop_after=2)
            run_study("inklusion", out_dir=tmp_path, **ARGS)
    assert _batches(tmp_path) == ["batch-000000.csv", "batch-000001.csv"]  # written as they completed
    assert sorted(p.name for p in tmp_path.iterdir()) == [*_batches(tmp_path), "manifest.json"]  # no temp
    calls = _counting(monkeypatch)
    resumed = run_study("inklusion", out_dir=tmp_path, **ARGS)
    assert calls == [(4, 5), (6, 7)]  # only the missing batches ran
    assert resumed.resumed == 4 and whole.resumed == 0
    assert resumed.to_csv() == whole.to_csv()
    assert _bits(resumed.records) == _bits(whole.records)
    assert (resumed.records.dtypes == whole.records.dtypes).all()
    calls.clear()
    again = run_study("inklusion", out_dir=tmp_path, **ARGS)  # everything there: nothing runs
    assert calls == [] and again.resumed == 8 and again.to_csv() == whole.to_csv()


def test_deleted_batches_are_rerun(tmp_path, monkeypatch, whole):
    run_study("inklusion", out_dir=tmp_path, **ARGS)
    (tmp_path / "batch-000001.csv").unlink()
    (tmp_path / "batch-000003.csv").unlink()
    (tmp_path / ".batch-000003.csv.tmp-4242").write_text("rep,estim")  # the half file of a killed write
    calls = _counting(monkeypatch)
    study = run_study("inklusion", out_dir=tmp_path, **ARGS)
    assert calls == [(2, 3), (6, 7)]
    assert _bits(study.records) == _bits(whole.records) and study.to_csv() == whole.to_csv()
    assert not (tmp_path / ".batch-000003.csv.tmp-4242").exists()


def test_the_manifest_holds_the_arguments(tmp_path):
    run_study("inklusion", out_dir=tmp_path, **ARGS)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    expected = {"scenario": "inklusion", "n": 720, "reps": 8, "seed": 5, "batch_size": 2, "alpha": 0.05}
    assert {k: manifest[k] for k in expected} == expected
    assert manifest["estimators"] == ["rd_wald", "delta_cost"] and manifest["fast"] is True
    from ipstrial import __version__

    assert manifest["version"] == __version__
    assert manifest["scenario_parameters"]["p_employed_18m"] == list(INKLUSION.p_employed_18m)


def test_a_folder_of_another_study_is_refused(tmp_path, whole):
    run_study("inklusion", out_dir=tmp_path, **ARGS)
    with pytest.raises(ParameterError, match=r"other arguments \(seed 5 there, 6 here\).*overwrite=True"):
        run_study("inklusion", out_dir=tmp_path, **{**ARGS, "seed": 6})
    with pytest.raises(ParameterError, match="reps 8 there, 10 here; batch_size 2 there, 5 here"):
        run_study("inklusion", out_dir=tmp_path, **{**ARGS, "reps": 10, "batch_size": 5})
    with pytest.raises(
        ParameterError, match='estimators \\["rd_wald", "delta_cost"\\] there, \\["rd_wald"\\]'
    ):
        run_study("inklusion", out_dir=tmp_path, **{**ARGS, "estimators": ["rd_wald"]})
    with pytest.raises(ParameterError, match="fast true there, false here"):
        run_study("inklusion", out_dir=tmp_path, **{**ARGS, "fast": False})
    # the same name, other parameters: named by parameter
    other = dataclasses.replace(INKLUSION, p_employed_18m=(0.7, 0.6, 0.5))
    with pytest.raises(ParameterError, match="scenario parameters p_employed_18m\\)"):
        run_study(other, out_dir=tmp_path, **ARGS)
    # overwrite: the old study is deleted and the new one runs from scratch
    study = run_study("inklusion", out_dir=tmp_path, overwrite=True, **{**ARGS, "reps": 4})
    assert _batches(tmp_path) == ["batch-000000.csv", "batch-000001.csv"] and study.resumed == 0
    assert json.loads((tmp_path / "manifest.json").read_text())["reps"] == 4
    assert _bits(study.records) == _bits(whole.records[whole.records.rep < 4])


def test_batches_without_a_manifest_or_with_other_replicates_are_refused(tmp_path):
    run_study("inklusion", out_dir=tmp_path, **ARGS)
    first = tmp_path / "batch-000000.csv"
    text = first.read_text()
    first.write_text(text.replace("\n1,", "\n2,"))  # a batch file that does not hold its replicates
    with pytest.raises(ParameterError, match="does not hold the records of replicates 0 to 1; delete it"):
        run_study("inklusion", out_dir=tmp_path, **ARGS)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(ParameterError, match="holds batch files but no manifest.json"):
        run_study("inklusion", out_dir=tmp_path, **ARGS)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ParameterError, match="cannot read the study manifest"):
        run_study("inklusion", out_dir=tmp_path, **ARGS)
    (tmp_path / "file").write_text("")
    with pytest.raises(ParameterError, match="exists and is not a folder"):
        run_study("inklusion", out_dir=tmp_path / "file", **ARGS)


def test_floats_round_trip_through_a_batch_file(tmp_path):
    values = [0.1 + 0.2, -0.0, 5e-324, 1.7976931348623157e308, math.inf, -math.inf, math.nan, 1 / 3, -2.5e-17]
    records = records_frame(
        [
            {"rep": 0, "estimator": "rd_wald", "contrast": f"c{i}", "estimate": v, "se": v, "ci_low": v,
             "ci_high": None, "p_value": v, "error": ""}
            for i, v in enumerate(values)
        ]
        + [{"rep": 1, "estimator": "rd_wald", "contrast": "", "error": 'ValueError: "quoted", comma'}]
    )  # fmt: skip
    store = Store.open(tmp_path, {"reps": 2}, INKLUSION, overwrite=False)
    store.write(0, records)
    back = store.finished({0: [0, 1], 1: [2, 3]})
    assert list(back) == [0]
    pd.testing.assert_frame_equal(back[0], records, check_exact=True)
    assert [math.copysign(1, x) for x in back[0].estimate[:2]] == [1, -1]  # the sign of -0.0 kept
    assert _bits(back[0]) == _bits(records)


def test_the_validate_command_resumes_from_its_folder(tmp_path, capsys):
    folder = tmp_path / "study"
    command = ["validate", "--reps", "4", "--seed", "3", "--estimators", "rd_wald", "--batch-size", "2"]
    assert main([*command, "--out-dir", str(folder)]) == 0
    first = capsys.readouterr()
    assert "resumed" not in first.err and _batches(folder) == ["batch-000000.csv", "batch-000001.csv"]
    (folder / "batch-000001.csv").unlink()
    assert main([*command, "--out-dir", str(folder)]) == 0
    second = capsys.readouterr()
    assert second.out == first.out and "resumed: 2 of 4 replicates read from" in second.err
    assert main([*command, "--seed", "4", "--out-dir", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "seed 3 there, 4 here" in err and "--force" in err
    assert "Traceback" not in err
    assert main([*command, "--seed", "4", "--out-dir", str(folder), "--force"]) == 0
    assert json.loads((folder / "manifest.json").read_text())["seed"] == 4
    capsys.readouterr()
    assert main([*command, "--force"]) == 2
    assert "--force deletes the study in --out-dir" in capsys.readouterr().err


def test_the_validate_command_stops_cleanly_on_ctrl_c(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "study"
    command = ["validate", "--reps", "4", "--seed", "3", "--estimators", "rd_wald", "--batch-size", "2"]
    command += ["--workers", "1"]  # in this process, where the batch function is patched
    with monkeypatch.context() as m:
        _counting(m, stop_after=1)
        assert main([*command, "--out-dir", str(folder)]) == 130
        assert main(command) == 130
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("ipstrial validate: interrupted; ") for line in err)
    assert err[0].endswith(f"the finished batches are in {folder}: run the same command to resume")
    assert err[1].endswith("nothing was kept; give --out-dir DIR to keep finished batches and resume")
    assert _batches(folder) == ["batch-000000.csv"]
    assert main([*command, "--out-dir", str(folder)]) == 0
    assert "resumed: 2 of 4 replicates read from" in capsys.readouterr().err
