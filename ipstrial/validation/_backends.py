"""Where a study's batches run: in this process, on local processes, or on a Dask cluster.

Every backend runs the same function on the same tasks and yields ``(batch index, records)`` as batches
finish, in whatever order they finish; the engine puts the records back in replicate order. A task carries
everything a worker needs (the scenario, a frozen dataclass, is pickled with it), and every replicate draws
from its own stream, so the backend cannot change a number.

Dask (``scheduler="tcp://HOST:PORT"`` or ``client=``) is imported only here, inside the functions, and is an
optional dependency: ``pip install 'ipstrial[dask]'``. The scheduler is reached with a connect timeout, so
an unreachable address is an error within seconds instead of a hang.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ipstrial._checks import ParameterError

__all__ = ["completed"]

Batch = Callable[[Any], list[dict[str, Any]]]


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
        Seconds to reach ``scheduler``.
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


def _package_version() -> str:
    """This process's ipstrial version (run on each Dask worker)."""
    from ipstrial._version import __version__

    return __version__


@contextmanager
def _dask_client(scheduler: str | None, client: Any, timeout: float) -> Iterator[Any]:
    """The given client (left open), or a client of ``scheduler`` (closed afterwards)."""
    distributed = _distributed()
    if client is not None:
        if not isinstance(client, distributed.Client):
            raise ParameterError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
        _check_workers(client, "the client's cluster")
        yield client
        return
    try:
        own = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ParameterError(
            f"cannot reach the Dask scheduler at scheduler={scheduler!r} within {timeout:g} s "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no answer'}); check the "
            "address (tcp://HOST:PORT) and that the scheduler is running, or leave the scheduler out to run "
            "on local processes"
        ) from None
    try:
        _check_workers(own, f"the scheduler {scheduler}")
        yield own
    finally:
        own.close()


def _check_workers(client: Any, where: str) -> None:
    """Refuse workers that run another version of ipstrial (their numbers could differ) or none at all."""
    from ipstrial._version import __version__

    try:
        versions = client.run(_package_version)
    except Exception as exc:  # noqa: BLE001 - a worker without ipstrial fails to unpickle the function
        raise ParameterError(
            f"the workers of {where} cannot run ipstrial ({type(exc).__name__}: {exc}); install ipstrial "
            f"{__version__} on every worker"
        ) from None
    other = {address: v for address, v in versions.items() if v != __version__}
    if other:
        shown = ", ".join(f"{a} has {v}" for a, v in list(other.items())[:5])
        raise ParameterError(
            f"the workers of {where} run another version of ipstrial ({shown}; this process has "
            f"{__version__}); install ipstrial {__version__} on every worker"
        )


def _on_dask(client: Any, run: Batch, tasks: Mapping[int, Any]) -> Iterator[tuple[int, Any]]:
    distributed = _distributed()
    futures = {client.submit(run, task, pure=False): i for i, task in tasks.items()}
    index = {future.key: i for future, i in futures.items()}
    try:
        for future in distributed.as_completed(list(futures)):
            yield index[future.key], future.result()
    finally:  # interrupted (or a batch raised): release every task of this study on the cluster
        client.cancel(list(futures))
