"""Where a sweep's missing runs train, when not one after the other in this process.

- ``processes``: a pool of worker processes on this machine, one per GPU (``cuda:0``, ``cuda:1``,
  ...), or ``workers`` CPU workers that split the cores between them;
- ``ray``: one Ray task per run, with ``num_gpus=1`` where the cluster has GPUs (else one CPU), on
  the cluster at ``address`` (``"auto"``, ``"ray://host:10001"``) or on a Ray started here.

Both call ``resdepth.jobs.train_job`` and yield ``(config, record, weights)`` as runs finish; the
driver (``resdepth.results.sweep``) writes the store, so workers never touch it and a crashed
worker cannot corrupt it. A worker that dies mid-run (killed, out of memory, node lost) is
replaced and its run is retried, up to ``max_retries`` times; the retry resumes from the run's
last checkpoint when it lands on a machine that can read it (the same machine, or a shared
``$RESDEPTH_RESULTS``), and starts again from step 0 otherwise. An exception raised by the run
itself (bad input, corrupt checkpoint) is not retried: the sweep stores every run that finishes,
then raises ``SweepError`` naming the ones that failed.
"""

import concurrent.futures
import multiprocessing
import os

import torch

from .errors import ConfigError, SweepError
from .jobs import train_job

EXECUTORS = ("local", "processes", "ray")


def run_elsewhere(configs, executor: str, *, store, device, address, workers, save_weights,
                  checkpoint_every, max_retries, start_states):
    """Train ``configs`` on ``executor``; yield ``(config, record, weights)`` in order of completion.
    Checkpoint paths are the driver's store's, so a retry on this machine resumes."""
    job = dict(profile=store.profile, progress=False, save_weights=save_weights, checkpoint_every=checkpoint_every)
    checkpoints = {cfg.key: str(store.checkpoint_path(cfg)) for cfg in configs}
    if executor == "processes":
        if address is not None:
            raise ConfigError("address is for the ray executor; the processes executor runs on this machine")
        yield from _on_processes(configs, job, checkpoints, device, workers, max_retries, start_states)
    elif executor == "ray":
        yield from _on_ray(configs, job, checkpoints, address, max_retries, start_states)
    else:
        raise ConfigError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")


def _raise_failures(failures: list) -> None:
    if failures:
        names = "; ".join(f"{cfg.experiment}/{cfg.key}: {message}" for cfg, message in failures)
        raise SweepError(f"{len(failures)} run(s) failed, the others are stored ({names}); fix and re-run the sweep")


# ----------------------------------------------------------------------------- processes

_worker_device = None


def _claim_device(devices, threads: int) -> None:
    """Pool initializer: each new worker takes the next free device from the shared queue."""
    global _worker_device
    _worker_device = devices.get()
    torch.set_num_threads(threads)


def _process_job(config: dict, job: dict, checkpoint_path: str, start_state):
    return train_job(config, checkpoint_path=checkpoint_path, device=_worker_device, start_state=start_state, **job)


def worker_devices(device, workers: int | None) -> list:
    """One device per worker: every visible GPU (or ``workers`` of them), else ``workers`` CPUs."""
    if device in (None, "auto") and torch.cuda.is_available():
        count = torch.cuda.device_count() if workers is None else min(workers, torch.cuda.device_count())
        return [f"cuda:{i}" for i in range(count)]
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be >= 1; got {workers}")
    return [device if device not in (None, "auto") else "cpu"] * (workers or 1)


def _on_processes(configs, job, checkpoints, device, workers, max_retries, start_states):
    devices = worker_devices(device, workers)
    threads = max(1, (os.cpu_count() or 1) // len(devices))
    context = multiprocessing.get_context("spawn")  # CUDA cannot be used in forked children
    attempts = {cfg.key: 0 for cfg in configs}
    remaining, failures = list(configs), []
    while remaining:
        crashed = []
        with context.Manager() as manager:
            free_devices = manager.Queue()
            for d in devices:
                free_devices.put(d)
            with concurrent.futures.ProcessPoolExecutor(len(devices), mp_context=context, initializer=_claim_device,
                                                        initargs=(free_devices, threads)) as pool:
                futures = {pool.submit(_process_job, cfg.to_dict(), job, checkpoints[cfg.key],
                                       start_states.get(cfg.start_from)): cfg for cfg in remaining}
                for future in concurrent.futures.as_completed(futures):
                    cfg = futures[future]
                    try:
                        record, weights = future.result()
                    except concurrent.futures.process.BrokenProcessPool:
                        crashed.append(cfg)  # a worker died: every unfinished run of this pool is retried
                        continue
                    except Exception as exc:  # the run itself failed: not retried
                        failures.append((cfg, f"{type(exc).__name__}: {exc}"))
                        continue
                    yield cfg, record, weights
        remaining = []
        for cfg in crashed:
            attempts[cfg.key] += 1
            if attempts[cfg.key] > max_retries:
                failures.append((cfg, f"its worker died {attempts[cfg.key]} times"))
            else:
                remaining.append(cfg)
    _raise_failures(failures)


# ----------------------------------------------------------------------------- ray


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray executor needs Ray: pip install 'ray==2.60.0' (in requirements.txt)") from None
    return ray


def _on_ray(configs, job, checkpoints, address, max_retries, start_states):
    ray = _ray()
    if not ray.is_initialized():
        local = address is None
        ray.init(address=address, log_to_driver=False, **({"include_dashboard": False} if local else {}))
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    task = ray.remote(train_job).options(
        num_gpus=gpus, num_cpus=1, max_retries=max_retries, retry_exceptions=False, name="resdepth_train_job")
    device = "cuda" if gpus else "cpu"  # Ray sets CUDA_VISIBLE_DEVICES to the task's one GPU
    shared_starts = {ref: ray.put(state) for ref, state in start_states.items()}
    pending = {task.remote(cfg.to_dict(), checkpoint_path=checkpoints[cfg.key], device=device,
                           start_state=shared_starts.get(cfg.start_from), **job): cfg for cfg in configs}
    failures = []
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        cfg = pending.pop(done[0])
        try:
            record, weights = ray.get(done[0])
        except (ray.exceptions.RayTaskError, ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
            failures.append((cfg, str(exc).strip().splitlines()[-1][:300]))
            continue
        yield cfg, record, weights
    _raise_failures(failures)
