"""Sweeps on worker processes and on a local Ray: same results as the local loop, the driver alone
writes the store, and a worker killed mid-run neither loses nor corrupts anything."""

import json
import os
import signal
import threading
import time

import pytest
import torch

from resdepth.config import RunConfig
from resdepth.errors import ConfigError, SweepError
from resdepth.executors import auto_executor, worker_slots
from resdepth.results import run_or_load, sweep
from resdepth.store import Store


def cfg(**changes):
    base = dict(experiment="x", model="tower", model_args=dict(depth=2, width=8), dataset="sample",
                steps=6, batch_size=64, eval_every=3)
    base.update(changes)
    return RunConfig(**base)


def every_result_parses(store):
    files = list(store.rglob("*.json"))
    for path in files:
        Store(store).read(path)
    return len(files)


def test_processes_and_local_store_bit_identical_results_for_one_key(isolated_store):
    """Issue 15: CPU results depend on the thread count; every CPU run trains on ``CPU_THREADS``
    whatever the executor and the process's own count, so one key gives one result."""
    configs = [cfg(seed=0), cfg(seed=1)]
    # one worker pinned to every core; on the CPU, whose thread count is the claim, also where there is a GPU
    records = sweep(configs, progress=False, device="cpu", executor="processes", workers=1)
    assert [r["key"] for r in records] == [c.key for c in configs]
    assert all(r["provenance"]["executor"] == "processes" for r in records)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the local loop in a process with another thread count
    try:
        local = sweep(configs, Store(isolated_store.parent / "local"), progress=False, device="cpu", executor="local")
    finally:
        torch.set_num_threads(threads)
    for p, q in zip(records, local):
        assert p["provenance"]["threads"] == q["provenance"]["threads"] == 1
        assert [{**h, "images_per_s": 0, "elapsed_s": 0} for h in p["history"]] == \
            [{**h, "images_per_s": 0, "elapsed_s": 0} for h in q["history"]]
        assert p["final"]["test_loss"] == q["final"]["test_loss"]


def test_a_failing_run_is_named_and_the_others_are_stored(isolated_store):
    good, bad = cfg(), cfg(dataset="imagenet")  # no ImageNet tree here: the worker raises
    with pytest.raises(SweepError, match=f"1 run\\(s\\) failed.*{bad.key}.*imagenet"):
        sweep([good, bad], progress=False, executor="processes", workers=2)
    assert Store().load(good)["status"] == "ok" and Store().load(bad) is None


def test_cpu_workers_get_their_own_cores_and_one_thread_each(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert worker_slots("cpu", None) == [("cpu", {0}), ("cpu", {1}), ("cpu", {2}), ("cpu", {3})]
    assert worker_slots("cpu", 2) == [("cpu", {0, 1}), ("cpu", {2, 3})]
    assert worker_slots("cpu", 6) == [("cpu", set())] * 6  # more workers than cores: unpinned, 1 thread
    with pytest.raises(ConfigError, match="workers must be an integer >= 1"):
        worker_slots("cpu", 0)


def test_auto_executor_uses_workers_on_a_multicore_cpu_only_when_there_is_more_than_one_unit(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert auto_executor(None, 5) == "processes" and auto_executor("cpu", 1) == "local"
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert auto_executor(None, 5) == "local"


def test_workers_record_their_threads_and_cores(isolated_store):
    records = sweep([cfg(seed=4), cfg(seed=5)], progress=False, device="cpu", executor="processes", workers=2)
    for r in records:
        assert r["provenance"]["threads"] == max(1, len(os.sched_getaffinity(0)) // 2)
        assert len(r["provenance"]["cpu_affinity"]) == r["provenance"]["threads"]
    if len(os.sched_getaffinity(0)) >= 2:
        assert records[0]["provenance"]["cpu_affinity"] != records[1]["provenance"]["cpu_affinity"]


def test_a_stacked_sweep_stores_ordinary_records_and_drops_its_checkpoint(isolated_store):
    configs = [cfg(seed=6), cfg(seed=7, lr=0.05), cfg(seed=8, model_args=dict(depth=3, width=8))]
    records = sweep(configs, progress=False, executor="local", stack=True)
    assert [r["key"] for r in records] == [c.key for c in configs]
    assert records[0]["provenance"]["stacked_with"] == [configs[1].key]
    assert records[1]["provenance"]["stacked_with"] == [configs[0].key]
    assert "stacked_with" not in records[2]["provenance"]  # another depth: trained alone
    assert records[0]["provenance"]["stack_wall_time_s"] >= records[0]["provenance"]["wall_time_s"]
    assert not list((isolated_store / ".checkpoints").rglob("*.pt"))
    assert every_result_parses(isolated_store) == 3
    with pytest.raises(ConfigError, match="stack must be true, false or 'auto'"):
        sweep(configs, progress=False, stack="yes")
    with pytest.raises(ConfigError, match="stack_size must be an integer >= 1"):
        sweep(configs, progress=False, stack=False, stack_size=0)
    for bad in (0, 1.5, "half"):
        with pytest.raises(ConfigError, match="gpus_per_unit must lie in"):
            sweep(configs, progress=False, executor="ray", gpus_per_unit=bad)


def test_unknown_executor_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown executor 'dask'; choose one of auto, local, processes, ray"):
        sweep([cfg()], executor="dask")


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def kill_training_workers() -> int:
    """SIGKILL every Ray worker process that is running a resdepth training task."""
    killed = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                title = f.read().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("ray::resdepth_train_unit"):
            os.kill(int(pid), signal.SIGKILL)
            killed += 1
    return killed


def test_ray_worker_killed_mid_run_is_retried_and_the_store_stays_intact(local_ray, isolated_store):
    finished = cfg(seed=0)
    run_or_load(finished, progress=False)
    finished_bytes = Store().result_path(finished).read_bytes()
    long_run = cfg(seed=1, steps=1500, eval_every=500, batch_size=32)
    outcome = {}

    def drive():
        try:
            outcome["records"] = sweep([finished, long_run], progress=False, executor="ray", checkpoint_every=25)
        except Exception as exc:  # surfaced by the assertions below
            outcome["error"] = exc

    driver = threading.Thread(target=drive)
    driver.start()
    ckpt, killed, deadline = Store().checkpoint_path(long_run), 0, time.monotonic() + 120
    while not killed and time.monotonic() < deadline and driver.is_alive():
        if ckpt.exists():  # mid-run: at least one checkpoint written, and the run is not done
            killed = kill_training_workers()
        time.sleep(0.02)
    driver.join(timeout=900)  # a retried run on a busy 2-core machine can take minutes; the assertions are what count
    assert killed >= 1, "the long run finished before it could be killed; make it longer"
    assert "error" not in outcome, outcome.get("error")
    stored = Store().load(long_run)
    assert stored["status"] == "ok" and stored["steps_done"] == 1500
    assert stored["provenance"]["resumed_from_step"] > 0  # the retry resumed from the checkpoint
    assert stored["provenance"]["executor"] == "ray" and "default_worker" not in stored["provenance"]["command"]
    assert outcome["records"][1] == stored and not ckpt.exists()
    assert Store().result_path(finished).read_bytes() == finished_bytes  # loaded, never rewritten
    assert every_result_parses(isolated_store) == 2
    assert json.loads(Store().result_path(long_run).read_text())["key"] == long_run.key


def spawned_children() -> list:
    """PIDs of this process's children started by multiprocessing's spawn (pool workers, manager)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and "spawn_main" in command:
            pids.append(int(pid))
    return pids


def test_process_worker_killed_mid_run_is_retried_and_resumes(isolated_store):
    long_run = cfg(seed=2, steps=1500, eval_every=500, batch_size=32)
    outcome = {}
    driver = threading.Thread(target=lambda: outcome.update(
        records=sweep([long_run], progress=False, executor="processes", workers=1, checkpoint_every=25)))
    driver.start()
    ckpt, killed, deadline = Store().checkpoint_path(long_run), False, time.monotonic() + 120
    while not killed and time.monotonic() < deadline and driver.is_alive():
        if ckpt.exists():
            for pid in spawned_children():
                os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(0.02)
    driver.join(timeout=900)  # a retried run on a busy 2-core machine can take minutes; the assertions are what count
    assert killed, "the run finished before it could be killed; make it longer"
    stored = Store().load(long_run)
    assert outcome["records"] == [stored] and stored["steps_done"] == 1500
    assert stored["provenance"]["resumed_from_step"] > 0 and not ckpt.exists()


def children_of(pid: int) -> list:
    """PIDs of the live (not zombie) processes whose parent is ``pid``."""
    found = []
    for child in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{child}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(child))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_killing_a_sweep_driver_stops_its_workers_within_seconds(isolated_store, how, as_terminal_job):
    """Issue 15 item 7: a killed driver left its workers training, then hanging."""
    import subprocess
    import sys

    script = ("from resdepth.config import RunConfig\nfrom resdepth.results import sweep\n"
              "runs = [RunConfig(experiment='x', model='tower', model_args=dict(depth=2, width=8), dataset='sample', "
              "steps=10**6, batch_size=32, eval_every=10**5, seed=s) for s in (0, 1)]\n"
              "sweep(runs, progress=False, executor='processes', workers=2)\n")
    driver = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": "1"},
                              preexec_fn=as_terminal_job)
    try:
        deadline, workers = time.monotonic() + 120, []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.5)
            workers = [p for p in children_of(driver.pid) if "spawn_main" in open(f"/proc/{p}/cmdline").read()]
        assert len(workers) == 2, "the sweep's two workers never started"
        time.sleep(3)  # training
        os.kill(driver.pid, how)
        driver.wait(timeout=60)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(map(alive, workers)):
            time.sleep(0.2)
        assert not any(map(alive, workers)), f"workers still running {15} s after the driver got {how.name}"
    finally:
        for pid in [driver.pid, *children_of(driver.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        driver.wait(timeout=10)
