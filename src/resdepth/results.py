"""Runs through the results store: load what is stored, train what is missing, store it.

``run_or_load(cfg, store)`` returns the stored record of ``cfg`` or trains and stores it;
``sweep(configs, store)`` does that over a grid, skipping finished runs and resuming interrupted
ones from their checkpoints, on this process or on workers (``resdepth.executors``), one run at
a time or several as one stacked net (``resdepth.stack``). Workers only
train (``resdepth.jobs.train_unit``); this process, the driver, alone writes the store.

A config that another config of the sweep starts from (``start_from``: post-training) is trained
first, with its weights stored.
"""

import os
import sys

import torch
from tqdm import tqdm

from .config import RunConfig, check_experiment_name
from .errors import ConfigError
from .executors import EXECUTORS, auto_executor, run_elsewhere
from .jobs import driver_command, run_threads, train_job, train_unit
from .plan import plan_text, sweep_plan, weights_kept
from .stack import group_stacks
from .store import Store
from .train import pick_device


def run_or_load(cfg: RunConfig, store: Store | None = None, device=None, progress: bool = True,
                save_weights: bool = False, checkpoint_every: int = 500) -> dict:
    """The stored result of ``cfg``, or train it, store it (with its weights if asked) and return it."""
    store = store or Store()
    if store.is_finished(cfg, with_weights=save_weights):
        return store.load(cfg)
    store.check_writable([cfg.experiment])
    store.check_launcher(driver_command())
    start_state = store.load_weights_of(cfg.start_from) if cfg.start_from else None
    with run_threads(device):  # one intra-op thread on the CPU, as every executor trains (jobs.CPU_THREADS)
        record, weights = train_job(cfg.to_dict(), store.profile, store.checkpoint_path(cfg), device, progress,
                                    save_weights, checkpoint_every, start_state)
    return store.save(cfg, record, weights)


def sweep(configs, store: Store | None = None, device=None, progress: bool = True, executor: str = "auto",
          address: str | None = None, workers: int | None = None, save_weights=False,
          checkpoint_every: int = 500, max_retries: int = 3, stack="auto", stack_size: int = 16,
          gpus_per_unit: float = 1.0) -> list:
    """``run_or_load`` over a grid of configs; returns their records in the order given.

    ``executor`` says where the missing runs train: "local" (one after the other, in this
    process), "processes" (one worker per GPU, or ``workers`` CPU workers of one thread each,
    pinned to a core), "ray" (Ray tasks on the cluster at ``address``, or on a Ray started here),
    or "auto": processes with one worker per core on a CPU with several cores when there are
    several units to train, else local. ``stack`` (True, False or "auto": on CUDA only, where it
    pays) trains up to ``stack_size`` compatible runs as one net (``resdepth.stack``); on Ray each
    unit asks for ``gpus_per_unit`` of a GPU. ``save_weights`` keeps every run's weights (True) or
    those of the configs it lists; runs that
    others start from train first, in a stage of their own, with their weights stored
    (``dependency_stages``: a start network, then its penalty runs, then their fine-tuning).
    """
    store = store or Store()
    if executor not in EXECUTORS + ("auto",):
        raise ConfigError(f"unknown executor {executor!r}; choose one of auto, {', '.join(EXECUTORS)}")
    if stack not in (True, False, "auto"):
        raise ConfigError(f"stack must be true, false or 'auto' (on CUDA only); got {stack!r}")
    if isinstance(gpus_per_unit, bool) or not isinstance(gpus_per_unit, (int, float)) or not 0 < gpus_per_unit <= 1:
        raise ConfigError(f"gpus_per_unit must lie in (0, 1] (a fraction of a GPU per run or stack); "
                          f"got {gpus_per_unit!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigError(f"max_retries must be an integer >= 0 (times a run whose worker died is retried); "
                          f"got {max_retries!r}")
    if isinstance(stack_size, bool) or not isinstance(stack_size, int) or stack_size < 1:
        raise ConfigError(f"stack_size must be an integer >= 1 (the most runs in one stack); got {stack_size!r}")
    stacking = stack is True or (stack == "auto" and pick_device(device).type == "cuda")
    configs = list(configs)
    keep = weights_kept(configs, save_weights)
    todo = [c for c in configs if not store.is_finished(c, with_weights=keep(c))]
    if todo:
        store.check_writable({c.experiment for c in todo})
        store.check_launcher(driver_command())
    if todo and progress:  # the plan before a long run: what loads, what trains, and for how long
        place = executor if executor != "auto" else auto_executor(device, len(todo))
        cpu_workers = (workers or os.cpu_count()) if place == "processes" else 1
        threads = 1 if place == "processes" else torch.get_num_threads()
        on_cpu = pick_device(device).type == "cpu"
        print(plan_text(sweep_plan(configs, store, threads, time_runs=on_cpu, save_weights=save_weights),
                        cpu_workers if on_cpu else 1),
              file=sys.stderr, flush=True)
    with tqdm(total=len(configs), initial=len(configs) - len(todo), disable=not progress or not todo,
              desc=f"sweep ({len(todo)} to run)", unit="run") as bar:
        stages = [[c for c in stage if keep(c) == kept_here] for stage in dependency_stages(todo, configs)
                  for kept_here in (True, False)]
        for stage in filter(None, stages):
            units = group_stacks(stage, stack_size if stacking else 1)
            where = executor if executor != "auto" else auto_executor(device, len(units))
            start_states = {ref: store.load_weights_of(ref) for ref in {c.start_from for c in stage if c.start_from}}
            if where == "local":
                finished = ((cfg, *result) for unit in units for cfg, result in zip(unit, train_unit(
                    [c.to_dict() for c in unit], store.profile, store.unit_checkpoint_path(unit), device, progress,
                    any(map(keep, unit)), checkpoint_every, start_states.get(unit[0].start_from))))
            else:
                finished = run_elsewhere(units, where, store=store, device=device, address=address, workers=workers,
                                         save_weights=keep(stage[0]),
                                         checkpoint_every=checkpoint_every, max_retries=max_retries,
                                         start_states=start_states, gpus_per_unit=gpus_per_unit)
            unit_of = {c.key: unit for unit in units for c in unit}
            for cfg, record, weights in finished:
                record["provenance"].update(command=driver_command(), executor=where)  # the sweep, not the worker
                store.save(cfg, record, weights)
                bar.update(1)
                if all(store.result_path(c).is_file() for c in unit_of[cfg.key]):  # a stack's checkpoint too
                    store.unit_checkpoint_path(unit_of[cfg.key]).unlink(missing_ok=True)
    return [store.load(c) for c in configs]


def dependency_stages(todo: list, configs: list) -> list:
    """The runs of ``todo`` in stages, each run after the run of ``configs`` it starts from: stage k
    holds the runs k ``start_from`` links away from a run that starts from nothing in ``configs``
    (a config's key hashes its ``start_from``, so the links form no cycle)."""
    by_ref = {f"{c.experiment}/{c.key}": c for c in configs}

    def links(cfg):
        count = 0
        while cfg.start_from in by_ref:
            cfg, count = by_ref[cfg.start_from], count + 1
        return count

    depth = [links(c) for c in todo]
    return [[c for c, d in zip(todo, depth) if d == level] for level in sorted(set(depth))]


def compute_used(records) -> str:
    """'device <names>, <hours> h of training' summed over the runs' provenance."""
    devices = sorted({r["provenance"]["device"] for r in records})
    hours = sum(r["provenance"]["wall_time_s"] for r in records) / 3600
    return f"device {', '.join(devices)}, {hours:.2f} h of training"


def run_length(settings: dict) -> str:
    """A budget's length per run: 'N epoch(s)' or 'N steps'."""
    return f"{settings['epochs']} epoch(s)" if settings.get("epochs") else f"{settings['steps']} steps"


def flat_config(record) -> dict:
    """A stored run's config as one flat dict: its fields, with the model arguments as fields too."""
    flat = {k: v for k, v in record["config"].items() if k != "model_args"}
    flat.update(record["config"]["model_args"])
    return flat


def history_frame(records):
    """All evaluation histories as one long ``pandas.DataFrame``, with the config fields as columns."""
    import pandas as pd

    rows = []
    for r in records:
        flat = flat_config(r)
        for h in r["history"]:
            rows.append({**flat, **h, "status": r["status"], "key": r["key"]})
    return pd.DataFrame(rows)


def runs_frame(experiment: str, store: Store | None = None):
    """Every stored run of ``experiment`` as one ``pandas.DataFrame`` row: key, the config fields
    (model arguments as columns), status, steps, final and best test accuracy, wall time, device."""
    import pandas as pd

    rows = []
    for r in (store or Store()).records(experiment):
        rows.append({"key": r["key"], **flat_config(r), "status": r["status"], "steps_done": r["steps_done"],
                     "final_test_acc": (r["final"] or {}).get("test_acc"), "best_test_acc": (r["best"] or {}).get("test_acc"),
                     "wall_time_s": r["provenance"]["wall_time_s"], "device": r["provenance"]["device"]})
    return pd.DataFrame(rows)


runs = runs_frame  # the public name (``resdepth.runs``): an experiment's stored runs, one row each


def load_run(experiment: str, store: Store | None = None, **fields):
    """The one stored run of ``experiment`` whose config has these values, as ``(record, model)``.

    ``fields`` are config fields or model arguments, as ``runs(experiment)`` names its columns:
    ``load_run("lambda_sweep", lam="n^-0.5", lr=0.05, seed=0)``. The model is ``load_model``'s
    (eval mode, trained weights; the run must have stored them). No match, or several, is one line
    that says which values exist or which fields still tell the matches apart."""
    store = store or Store()
    records = store.records(check_experiment_name(experiment))
    if not records:
        raise ConfigError(f"no run of {experiment!r} is stored in {store.root}; train it first "
                          f"(python -m resdepth sweep {experiment})")
    flats = [flat_config(r) for r in records]
    columns = sorted(set().union(*flats))
    unknown = sorted(set(fields) - set(columns))
    if unknown:
        raise ConfigError(f"{', '.join(unknown)} is not a field of {experiment}'s runs; use one of: {', '.join(columns)}")
    matches = [(r, flat) for r, flat in zip(records, flats) if all(flat.get(k) == v for k, v in fields.items())]
    if not matches:
        wanted = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        raise ConfigError(f"no stored run of {experiment} has {wanted}; resdepth.runs({experiment!r}) lists "
                          f"the {len(records)} stored runs")
    if len(matches) > 1:
        values = {c: sorted({repr(flat.get(c)) for _, flat in matches}) for c in columns}
        raise ConfigError(f"{len(matches)} stored runs of {experiment} match; name one more field to choose: "
                          + "; ".join(f"{c} ({', '.join(v)})" for c, v in values.items() if len(v) > 1))
    record = matches[0][0]
    return record, load_model(f"{experiment}/{record['key']}", store)


def load_model(ref, store: Store | None = None):
    """The trained model of a stored run, in eval mode: ``ref`` is its ``RunConfig`` or
    "<experiment>/<key>". Its weights must have been stored (``save_weights=True``)."""
    from .data import load_dataset
    from .models import build_model

    store = store or Store()
    if isinstance(ref, RunConfig):
        cfg, record = ref, store.load(ref)
    else:
        if not isinstance(ref, str) or ref.count("/") != 1:
            raise ConfigError(f"a stored run is named '<experiment>/<key>' or given as its RunConfig; got {ref!r}")
        experiment, key = ref.split("/")
        path = store.root / check_experiment_name(experiment) / f"{key}.json"
        record = store.read(path) if path.is_file() else None
        cfg = RunConfig.from_dict(record["config"]) if record else None
    if record is None:
        raise ConfigError(f"run {ref if isinstance(ref, str) else ref.key} is not stored in {store.root}; train it first")
    if cfg.linearize:
        raise ConfigError("a post-trained run's weights fit the linearized model; load them with "
                          "resdepth.linearize, not load_model")
    data = load_dataset(cfg.dataset)
    model = build_model(cfg.model, data.in_channels, data.num_classes, **cfg.model_kwargs)
    model.load_state_dict(store.load_weights(cfg))
    return model.eval()
