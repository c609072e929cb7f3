"""Where a study's batches run: in this process, on local processes, or on a Dask cluster.

Every backend runs the same function on the same tasks and yields ``(batch index, records)`` as batches
finish, in whatever order they finish; the engine puts the records back in replicate order. A task carries
everything a worker needs (the scenario, a frozen dataclass, is pickled with it), and every replicate draws
from its own stream, so the backend cannot change a number.

Dask (``scheduler="tcp://HOST:PORT"`` or ``client=``) is imported only here, inside the functions, and is an
optional dependency: ``pip install 'ipstrial[dask]'``. Reaching a scheduler is bounded by ``timeout``: the
address is first asked for its identity over one connection, with the whole exchange under
:func:`asyncio.wait_for`, because ``distributed.Client(timeout=...)`` bounds only the TCP connect and waits
forever on an address that accepts connections but does not speak Dask's protocol (dask/distributed#8071).
The workers must have joined within ``timeout`` too, and run the same versions of ipstrial and of the
packages that compute the numbers (:data:`PACKAGES`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ipstrial._checks import ParameterError

__all__ = ["PACKAGES", "check_address", "completed"]

Batch = Callable[[Any], list[dict[str, Any]]]

PACKAGES: tuple[str, ...] = ("numpy", "scipy", "pandas", "statsmodels", "lifelines")
"""The packages whose version must be the same on every Dask worker as here (besides ipstrial): they
compute the numbers, and another version can change their last bits."""

_ADDRESS = re.compile(r"tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?):([0-9]{1,5})")
_HINT = "is it the scheduler's address, tcp://HOST:8786, not the dashboard's 8787?"


def check_address(scheduler: object) -> str:
    """``scheduler`` if it is a Dask scheduler address ``tcp://HOST:PORT`` (port 1 to 65535), else a
    :class:`~ipstrial.errors.ParameterError` saying what one looks like."""
    match = _ADDRESS.fullmatch(scheduler) if isinstance(scheduler, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise ParameterError(
            f"scheduler must be an address such as 'tcp://HOST:PORT' (e.g. 'tcp://10.0.0.5:8786', the "
            f"address the scheduler prints when it starts), got {scheduler!r}"
        )
    return scheduler


def completed(
    run: Batch,
    tasks: Mapping[int, Any],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    client: Any = None,
    timeout: float = 5.0,
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """``(index, run(task))`` for every task, as each finishes.

    Parameters
    ----------
    run
        The batch function (a module-level function, so that it pickles by reference).
    tasks
        The tasks to run, by batch index.
    workers
        Local processes; at most one per task is started, and one runs the tasks in this process.
    scheduler, client
        A Dask scheduler's address or a ``distributed.Client``: the tasks run on that cluster.
    timeout
        Seconds to reach ``scheduler`` (and for its first worker to join).
    """
    if not tasks:
        return
    if scheduler is not None or client is not None:
        with _dask_client(scheduler, client, timeout) as c:
            yield from _on_dask(c, run, tasks)
    elif min(workers, len(tasks)) == 1:
        for i, task in tasks.items():
            yield i, run(task)
    else:
        yield from _on_processes(run, tasks, min(workers, len(tasks)))


def _on_processes(run: Batch, tasks: Mapping[int, Any], workers: int) -> Iterator[tuple[int, Any]]:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(run, task): i for i, task in tasks.items()}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:  # interrupted (or a batch raised): drop the batches not started, wait for the running ones
        pool.shutdown(wait=True, cancel_futures=True)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "running a study on a Dask cluster (scheduler= or client=, ipstrial validate --scheduler) needs "
            "dask.distributed: pip install 'ipstrial[dask]'; or leave the scheduler out to run on local "
            "processes (workers=)"
        ) from exc
    return distributed


def package_versions() -> dict[str, str]:
    """This process's versions of ipstrial and of :data:`PACKAGES` (run on each Dask worker)."""
    from importlib.metadata import PackageNotFoundError, version

    from ipstrial._version import __version__

    out = {"ipstrial": __version__}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _identity(scheduler: str, timeout: float) -> dict[str, Any]:
    """The answer of ``scheduler`` to Dask's ``identity`` request, within ``timeout`` seconds.

    The exchange runs on its own event loop in a daemon thread, so that it works where an event loop is
    already running (Jupyter) and cannot keep the interpreter alive.
    """
    import asyncio

    from distributed.comm import connect

    async def ask() -> Any:
        comm = await connect(scheduler, timeout=timeout)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            comm.abort()

    outcome: dict[str, Any] = {}

    def probe() -> None:
        try:
            outcome["answer"] = asyncio.run(asyncio.wait_for(ask(), timeout))
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            outcome["error"] = exc

    thread = threading.Thread(target=probe, name="ipstrial-dask-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)  # wait_for ends the exchange at timeout; the second is for the loop's exit
    error = outcome.get("error")
    if thread.is_alive() or isinstance(error, asyncio.TimeoutError | TimeoutError):
        raise ParameterError(
            f"no answer from scheduler={scheduler!r} within connect_timeout={timeout:g} s: nothing listens "
            f"there, or something that is not a Dask scheduler; {_HINT} Check that the scheduler is running, "
            "or leave the scheduler out to run on local processes"
        )
    if error is not None:
        raise ParameterError(
            f"cannot reach the Dask scheduler at scheduler={scheduler!r} ({_reason(error)}); check the "
            "address (tcp://HOST:PORT) and that the scheduler is running, or leave the scheduler out to run "
            "on local processes"
        )
    answer = outcome.get("answer")
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind != "Scheduler":
        raise ParameterError(
            f"scheduler={scheduler!r} answers but is not a Dask scheduler (it is {kind or 'unknown'}); "
            f"{_HINT}"
        )
    return answer


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else "no details"
    return f"{type(exc).__name__}: {text}"


@contextmanager
def _dask_client(scheduler: str | None, client: Any, timeout: float) -> Iterator[Any]:
    """The given client (left open), or a client of ``scheduler`` (closed afterwards)."""
    distributed = _distributed()
    if client is not None:
        if not isinstance(client, distributed.Client):
            raise ParameterError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
        _check_workers(client, "the client's cluster", timeout)
        yield client
        return
    scheduler = check_address(scheduler)
    _identity(scheduler, timeout)
    try:
        own = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the same error for the caller
        raise ParameterError(
            f"cannot connect to the Dask scheduler at scheduler={scheduler!r} within {timeout:g} s "
            f"({_reason(exc)}); check the address (tcp://HOST:PORT) and that the scheduler is running, or "
            "leave the scheduler out to run on local processes"
        ) from None
    try:
        _check_workers(own, f"the scheduler {scheduler}", timeout)
        yield own
    finally:
        own.close()


def _check_workers(client: Any, where: str, timeout: float) -> None:
    """Refuse a cluster without workers, or whose workers run other versions of ipstrial or of
    :data:`PACKAGES` (their numbers could differ)."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except Exception:  # noqa: BLE001 - a timeout, however distributed spells it
        raise ParameterError(
            f"the cluster of {where} has no workers (none joined within connect_timeout={timeout:g} s); "
            "start workers (dask worker tcp://HOST:8786), or leave the scheduler out to run on local "
            "processes"
        ) from None
    here = package_versions()
    try:
        versions = client.run(package_versions)
    except Exception as exc:  # noqa: BLE001 - a worker without ipstrial fails to unpickle the function
        raise ParameterError(
            f"the workers of {where} cannot run ipstrial ({_reason(exc)}); install ipstrial "
            f"{here['ipstrial']} on every worker"
        ) from None
    differ, wanted = [], []
    for package, mine in here.items():
        other = {a: v.get(package) for a, v in versions.items() if v.get(package) != mine}
        if other:
            shown = ", ".join(f"{a} has {v}" for a, v in list(other.items())[:3])
            more = f" and {len(other) - 3} more" if len(other) > 3 else ""
            differ.append(f"{package}: {shown}{more}, this process {mine}")
            wanted.append(f"{package}=={mine}")
    if differ:
        raise ParameterError(
            f"the workers of {where} run other versions of packages that compute the numbers "
            f"({'; '.join(differ)}), so their bits could differ; install the same versions on every worker "
            f"(pip install {' '.join(wanted)})"
        )


def _on_dask(client: Any, run: Batch, tasks: Mapping[int, Any]) -> Iterator[tuple[int, Any]]:
    distributed = _distributed()
    futures = {client.submit(run, task, pure=False): i for i, task in tasks.items()}
    index = {future.key: i for future, i in futures.items()}
    try:
        # the client's own loop: the study's client is not the default one (set_as_default=False)
        for future in distributed.as_completed(list(futures), loop=client.loop):
            yield index[future.key], future.result()
    finally:  # interrupted (or a batch raised): release every task of this study on the cluster
        client.cancel(list(futures))
