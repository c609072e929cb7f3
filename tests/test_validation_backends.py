"""The backends of the validation engine: the same bits serially, on local processes and on a Dask cluster;
a clear error, never a hang, for an unreachable scheduler; dask optional."""

from __future__ import annotations

import dataclasses
import socket
import sys

import pytest

from ipstrial.cli import main
from ipstrial.errors import ParameterError
from ipstrial.synthetic import INKLUSION
from ipstrial.validation import run_study

CHEAP = ["rd_wald", "rd_newcombe", "delta_cost"]
# a user's own scenario (a frozen dataclass): the workers must rebuild it from the task
MINE = dataclasses.replace(INKLUSION, name="mine", n=180, p_employed_18m=(0.62, 0.55, 0.45))


def _bits(records):
    """The records as text with every float to 17 significant digits: equal text, equal bits."""
    return records.to_csv(index=False, float_format="%.17g")


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_same_bits_serially_on_two_processes_and_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    args = {"reps": 5, "seed": 7, "estimators": CHEAP, "quiet": True}
    serial = run_study(MINE, batch_size=5, **args)
    processes = run_study(MINE, batch_size=2, workers=2, **args)  # 3 batches on 2 processes
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_client = run_study(MINE, batch_size=2, client=client, **args)
        on_scheduler = run_study(MINE, batch_size=3, scheduler=cluster.scheduler_address, **args)
        assert client.status == "running", "a client given by the caller is left open"
    assert set(serial.table.scenario) == {"mine"} and len(serial.records) > 5 * len(CHEAP)
    for other in (processes, on_client, on_scheduler):
        assert other.to_csv() == serial.to_csv()
        assert _bits(other.records) == _bits(serial.records)


def test_an_unreachable_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with pytest.raises(ParameterError, match="cannot reach the Dask scheduler at scheduler='tcp://127"):
        run_study("inklusion", reps=2, estimators=["rd_wald"], scheduler=address, connect_timeout=3)


def test_without_dask_the_error_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with pytest.raises(ImportError, match=r"pip install 'ipstrial\[dask\]'"):
        run_study("inklusion", reps=2, estimators=["rd_wald"], scheduler="tcp://127.0.0.1:8786")
    assert main(["validate", "--reps", "2", "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'ipstrial[dask]'" in err


def test_scheduler_and_local_workers_are_not_mixed(capsys):
    with pytest.raises(ParameterError, match="workers=2 counts local processes"):
        run_study("inklusion", reps=2, workers=2, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ParameterError, match="not both"):
        run_study("inklusion", reps=2, scheduler="tcp://127.0.0.1:8786", client=object())
    with pytest.raises(ParameterError, match="scheduler must be an address"):
        run_study("inklusion", reps=2, scheduler="")
    assert main(["validate", "--reps", "2", "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--workers counts local processes" in err and "Traceback" not in err


def test_a_client_must_be_a_dask_client():
    pytest.importorskip("distributed")
    with pytest.raises(ParameterError, match="client must be a dask.distributed.Client"):
        run_study("inklusion", reps=2, estimators=["rd_wald"], client=object())
