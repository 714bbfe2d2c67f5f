"""Where a sweep's missing runs train, when not one after the other in this process.

- ``processes``: a pool of worker processes on this machine: one per GPU (``cuda:0``, ``cuda:1``,
  ...; ``workers`` more than the GPUs share them round-robin), or on the CPU one worker per core
  (or ``workers``), each with an equal share of the cores as threads and pinned to them. On this
  project's 2-core CPU, two 1-thread workers train 1.26 [1.23, 1.39]x faster than one 2-thread
  process, and a 1-thread run is not slowed 10-170x by a busy machine as a 2-thread run is;
- ``ray``: one Ray task per unit, with ``gpus_per_unit`` of a GPU (default 1; 0.25 puts four on
  a GPU) where the cluster has GPUs (else one CPU), on the cluster at ``address`` (``"auto"``,
  ``"ray://host:10001"``) or on a Ray started here.

A unit is one run or a stack of runs trained as one net (``resdepth.stack``). Both executors call
``resdepth.jobs.train_unit`` and yield ``(config, record, weights)`` as runs finish; the
driver (``resdepth.results.sweep``) writes the store, so workers never touch it and a crashed
worker cannot corrupt it. A worker that dies mid-run (killed, out of memory, node lost) is
replaced and its run is retried, up to ``max_retries`` times; the retry resumes from the run's
last checkpoint when it lands on a machine that can read it (the same machine, or a shared
``$RESDEPTH_RESULTS``), and starts again from step 0 otherwise. An exception raised by the run
itself (bad input, corrupt checkpoint) is not retried: the sweep stores every run that finishes,
then raises ``SweepError`` naming the ones that failed.
"""

import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys

import torch

from .errors import ConfigError, SweepError
from .jobs import train_unit
from .train import pick_device

EXECUTORS = ("local", "processes", "ray")


def auto_executor(device, units: int) -> str:
    """"processes" (one 1-thread worker per core) for a CPU sweep of several units on a machine of
    several cores, else "local"."""
    on_cpu = pick_device(device).type == "cpu"
    return "processes" if on_cpu and units > 1 and (os.cpu_count() or 1) > 1 else "local"


def run_elsewhere(units, executor: str, *, store, device, address, workers, save_weights,
                  checkpoint_every, max_retries, start_states, gpus_per_unit: float = 1.0):
    """Train ``units`` (lists of configs: one run, or a stack) on ``executor``; yield ``(config,
    record, weights)`` as units finish. Checkpoint paths are the driver's store's, so a retry on
    this machine resumes."""
    job = dict(profile=store.profile, progress=False, save_weights=save_weights, checkpoint_every=checkpoint_every)
    checkpoints = [str(store.unit_checkpoint_path(unit)) for unit in units]
    if executor == "processes":
        if address is not None:
            raise ConfigError("address is for the ray executor; the processes executor runs on this machine")
        yield from _on_processes(units, job, checkpoints, device, workers, max_retries, start_states)
    elif executor == "ray":
        yield from _on_ray(units, job, checkpoints, address, max_retries, start_states, gpus_per_unit)
    else:
        raise ConfigError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")


def _raise_failures(failures: list) -> None:
    """``failures``: (unit, message) pairs."""
    if failures:
        names = "; ".join(f"{cfg.experiment}/{cfg.key}: {message}" for unit, message in failures for cfg in unit)
        count = sum(len(unit) for unit, _ in failures)
        raise SweepError(f"{count} run(s) failed, the others are stored ({names}); fix and re-run the sweep")


# ----------------------------------------------------------------------------- processes

_worker_device = None
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): the signal a process gets when its parent ends


def die_with_parent(parent: int) -> None:
    """Ask Linux to send this worker SIGTERM when its parent, the sweep driver ``parent``, ends,
    however it ends (a killed driver must not leave workers training; elsewhere this does
    nothing). A driver that ended while this worker was starting is caught here: exit at once."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)


def _claim_device(slots, driver: int | None = None) -> None:
    """Pool initializer: each new worker dies with the driver (``die_with_parent``; ``driver`` its
    pid, by default the parent now), takes the next free (device, cores) slot, pins itself to
    those cores and trains with one thread per core."""
    die_with_parent(os.getppid() if driver is None else driver)
    global _worker_device
    _worker_device, cores = slots.get()
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    torch.set_num_threads(max(1, len(cores)) if cores else 1)


def _process_job(configs: list, job: dict, checkpoint_path: str, start_state):
    return train_unit(configs, checkpoint_path=checkpoint_path, device=_worker_device, start_state=start_state, **job)


def worker_slots(device, workers: int | None) -> list:
    """One (device, cores) slot per worker: every visible GPU (``workers`` more than the GPUs share
    them round-robin), each worker with an equal share of the cores; else ``workers`` CPU workers
    (default: one per core), each with its own cores."""
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ConfigError(f"workers must be an integer >= 1; got {workers!r}")
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    if device in (None, "auto") and torch.cuda.is_available():
        gpus = torch.cuda.device_count()
        devices = [f"cuda:{i % gpus}" for i in range(workers or gpus)]
    else:
        devices = [device if device not in (None, "auto") else "cpu"] * (workers or len(cores))
    if len(devices) > len(cores):  # more workers than cores: one thread each, unpinned
        return [(d, set()) for d in devices]
    share = len(cores) // len(devices)
    return [(d, set(cores[i * share : (i + 1) * share])) for i, d in enumerate(devices)]


def _on_processes(units, job, checkpoints, device, workers, max_retries, start_states):
    slots = worker_slots(device, workers)
    context = multiprocessing.get_context("spawn")  # CUDA cannot be used in forked children
    attempts = [0] * len(units)
    remaining, failures = list(range(len(units))), []
    while remaining:
        crashed = []
        free_slots = context.Queue()  # a plain queue, handed over at spawn: no manager process to orphan
        for slot in slots:
            free_slots.put(slot)
        with concurrent.futures.ProcessPoolExecutor(len(slots), mp_context=context, initializer=_claim_device,
                                                    initargs=(free_slots, os.getpid())) as pool:
            futures = {pool.submit(_process_job, [c.to_dict() for c in units[i]], job, checkpoints[i],
                                   start_states.get(units[i][0].start_from)): i for i in remaining}
            try:
                for future in concurrent.futures.as_completed(futures):
                    i = futures[future]
                    try:
                        results = future.result()
                    except concurrent.futures.process.BrokenProcessPool:
                        crashed.append(i)  # a worker died: every unfinished unit of this pool is retried
                        continue
                    except Exception as exc:  # the run itself failed: not retried
                        failures.append((units[i], f"{type(exc).__name__}: {exc}"))
                        continue
                    for cfg, (record, weights) in zip(units[i], results):
                        yield cfg, record, weights
            except BaseException:  # Ctrl-C, or the driver stopped reading: stop the workers now, not
                stop_workers(pool)  # after their runs (their checkpoints resume them next time)
                raise
        remaining = []
        for i in crashed:
            attempts[i] += 1
            if attempts[i] > max_retries:
                failures.append((units[i], f"its worker died {attempts[i]} times"))
            else:
                remaining.append(i)
    _raise_failures(failures)


def stop_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Terminate a pool's workers at once and drop its queued jobs (``shutdown`` alone would wait
    for the running ones to finish)."""
    for process in list(getattr(pool, "_processes", {}).values()):  # the executor keeps no public handle
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


# ----------------------------------------------------------------------------- ray


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray executor needs Ray: pip install 'ray==2.60.0' (in requirements.txt)") from None
    return ray


def _on_ray(units, job, checkpoints, address, max_retries, start_states, gpus_per_unit):
    ray = _ray()
    if not ray.is_initialized():
        local = address is None
        ray.init(address=address, log_to_driver=False, **({"include_dashboard": False} if local else {}))
    gpus = gpus_per_unit if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    task = ray.remote(train_unit).options(
        num_gpus=gpus, num_cpus=1, max_retries=max_retries, retry_exceptions=False, name="resdepth_train_unit")
    device = "cuda" if gpus else "cpu"  # Ray sets CUDA_VISIBLE_DEVICES to the task's GPU
    shared_starts = {ref: ray.put(state) for ref, state in start_states.items()}
    pending = {task.remote([c.to_dict() for c in unit], checkpoint_path=checkpoint, device=device,
                           start_state=shared_starts.get(unit[0].start_from), **job): unit
               for unit, checkpoint in zip(units, checkpoints)}
    failures = []
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        unit = pending.pop(done[0])
        try:
            results = ray.get(done[0])
        except (ray.exceptions.RayTaskError, ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
            failures.append((unit, str(exc).strip().splitlines()[-1][:300]))
            continue
        for cfg, (record, weights) in zip(unit, results):
            yield cfg, record, weights
    _raise_failures(failures)
