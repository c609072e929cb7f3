"""The backends of the validation engine: the same bits serially, on local processes and on a Dask cluster;
a clear error, never a hang, for an unreachable scheduler; dask optional."""

from __future__ import annotations

import dataclasses
import socket
import sys
import threading

import pytest

from ipstrial.cli import main
from ipstrial.errors import ParameterError
from ipstrial.synthetic import INKLUSION
from ipstrial.validation import _backends, run_study

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


@pytest.fixture
def silent_listener():
    """A loopback address that accepts connections and never answers (not a Dask scheduler)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:  # the socket was closed: the test is over
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for connection in accepted:
        connection.close()
    thread.join(5)


def test_the_same_bits_serially_on_two_processes_and_on_a_dask_cluster(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    args = {"reps": 5, "seed": 7, "estimators": CHEAP, "quiet": True}
    serial = run_study(MINE, batch_size=5, **args)
    processes = run_study(MINE, batch_size=2, workers=2, **args)  # 3 batches on 2 processes
    command = ["validate", "--reps", "5", "--seed", "7", "--estimators", ",".join(CHEAP), "--quiet"]
    assert main([*command, "--workers", "1", "--out", str(tmp_path / "serial.csv")]) == 0
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        # as on a real cluster: no Client in this process, so none is the default one
        with pytest.raises(ValueError, match="No clients found"):
            distributed.default_client()
        on_scheduler = run_study(MINE, batch_size=3, scheduler=cluster.scheduler_address, **args)
        address = ["--scheduler", cluster.scheduler_address, "--batch-size", "2"]
        assert main([*command, *address, "--out", str(tmp_path / "cluster.csv")]) == 0
        with distributed.Client(cluster) as client:
            on_client = run_study(MINE, batch_size=2, client=client, **args)
            assert client.status == "running", "a client given by the caller is left open"
    assert set(serial.table.scenario) == {"mine"} and len(serial.records) > 5 * len(CHEAP)
    for other in (processes, on_client, on_scheduler):
        assert other.to_csv() == serial.to_csv()
        assert _bits(other.records) == _bits(serial.records)
    assert (tmp_path / "cluster.csv").read_bytes() == (tmp_path / "serial.csv").read_bytes()
    assert "Traceback" not in capsys.readouterr().err


def test_an_unreachable_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with pytest.raises(ParameterError, match="scheduler='tcp://127.0.0.1:[0-9]+'") as raised:
        run_study("inklusion", reps=2, estimators=["rd_wald"], scheduler=address, connect_timeout=2)
    assert "the scheduler is running" in str(raised.value)


def test_an_address_that_answers_nothing_is_an_error_not_a_hang(silent_listener, capfd):
    # distributed.Client(timeout=) waits forever here (dask/distributed#8071): the probe bounds it
    pytest.importorskip("distributed")
    with pytest.raises(ParameterError, match="no answer from scheduler='tcp://127.0.0.1") as raised:
        run_study("inklusion", reps=2, estimators=["rd_wald"], scheduler=silent_listener, connect_timeout=2)
    assert "within connect_timeout=2 s" in str(raised.value) and "not the dashboard's 8787" in str(
        raised.value
    )
    assert "Traceback" not in capfd.readouterr().err


def test_the_address_of_a_worker_is_not_a_scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, processes=False, protocol="tcp://", dashboard_address=None
    ) as cluster:
        worker = next(iter(cluster.scheduler.workers))
        with pytest.raises(ParameterError, match="answers but is not a Dask scheduler \\(it is Worker\\)"):
            run_study("inklusion", reps=2, estimators=["rd_wald"], scheduler=worker, connect_timeout=2)


def test_a_cluster_without_workers_is_refused():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=0, processes=False, protocol="tcp://", dashboard_address=None
    ) as cluster:
        with pytest.raises(ParameterError, match="has no workers \\(none joined within connect_timeout=1 s"):
            run_study(
                "inklusion",
                reps=2,
                estimators=["rd_wald"],
                scheduler=cluster.scheduler_address,
                connect_timeout=1,
            )


@pytest.mark.parametrize(
    "address",
    [
        "localhost:8786",
        "tcp://localhost",
        "http://localhost:8787",
        "tcp://host:0",
        "tcp://host:99999",
        " ",
        8786,
    ],
)
def test_an_address_that_is_not_tcp_host_port_is_refused_before_connecting(address, capfd):
    with pytest.raises(ParameterError, match="scheduler must be an address such as 'tcp://HOST:PORT'"):
        run_study("inklusion", reps=2, estimators=["rd_wald"], scheduler=address)
    assert capfd.readouterr().err == ""  # no Client was made (its __del__ would print a traceback)


class _Cluster:
    """A stand-in for a client of a cluster whose workers run the versions ``versions``."""

    def __init__(self, versions):
        self.versions = versions

    def wait_for_workers(self, n, timeout):
        pass

    def run(self, function):
        return dict(self.versions)


def test_workers_with_another_version_of_a_numerical_package_are_refused():
    here = _backends.package_versions()
    assert set(here) == {"ipstrial", *_backends.PACKAGES}
    same = _Cluster({"tcp://a:1": here, "tcp://b:1": here})
    _backends._check_workers(same, "the test cluster", 1.0)  # the same versions: accepted
    for package in ("ipstrial", "numpy", "lifelines"):
        other = _Cluster({"tcp://a:1": here, "tcp://b:1": {**here, package: "0.0.1"}})
        with pytest.raises(
            ParameterError, match=f"\\({package}: tcp://b:1 has 0.0.1, this process"
        ) as raised:
            _backends._check_workers(other, "the test cluster", 1.0)
        assert f"pip install {package}=={here[package]}" in str(raised.value)


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
    assert main(["validate", "--reps", "2", "--workers", "0", "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert "--workers 0: give at least 1 local process" in capsys.readouterr().err
    assert main(["validate", "--reps", "2", "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--workers counts local processes" in err and "Traceback" not in err


def test_a_client_must_be_a_dask_client():
    pytest.importorskip("distributed")
    with pytest.raises(ParameterError, match="client must be a dask.distributed.Client"):
        run_study("inklusion", reps=2, estimators=["rd_wald"], client=object())
