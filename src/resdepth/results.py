"""The results store: one JSON file per run, named by the hash of its config.

    <results dir>/<experiment>/<config.key>.json

Each file holds the config, the per-evaluation metrics history, final and best metrics, the
status ("ok" or "diverged", with the reason), and provenance: git commit, torch version, device,
wall time, date and profile. ``run_or_load`` returns a stored result or trains and stores it;
``sweep`` does that over a grid, skipping finished runs and resuming interrupted ones from their
checkpoints, on this process or on workers (``resdepth.executors``). Training (``train_job``)
writes only checkpoints; storing (``store_run``) happens in the driver alone.

Writes are atomic (temporary file, fsync, rename), so a kill at any moment leaves either the old
file or the new one. A file that does not parse, or that belongs to another config, raises
``StoreError`` naming it; it is never overwritten.
"""

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from .atomic import atomic_torch_save, atomic_write_text
from .config import RunConfig, check_profile
from .errors import ConfigError, StoreError
from .paths import REPO_ROOT, results_dir

SCHEMA = "resdepth.result/1"


def result_path(cfg: RunConfig, root=None, profile: str = "book") -> Path:
    root = Path(root) if root is not None else results_dir(profile)
    return root / cfg.experiment / f"{cfg.key}.json"


def weights_path(cfg: RunConfig, root=None, profile: str = "book") -> Path:
    return result_path(cfg, root, profile).with_suffix(".weights.pt")


def checkpoint_path(cfg: RunConfig, root=None, profile: str = "book") -> Path:
    """Where an unfinished run keeps its checkpoint: beside the results dir, never inside it."""
    results = Path(root) if root is not None else results_dir(profile)
    return results.parent / "checkpoints" / results.name / cfg.experiment / f"{cfg.key}.pt"


def git_commit() -> dict:
    def git(*args):
        out = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else None

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "src")) if commit else None
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {"git_commit": commit or "unknown", "git_dirty_src": dirty}


def provenance(profile: str, device: str, wall_time_s: float, git: dict) -> dict:
    return {
        **git,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": device,
        "wall_time_s": round(wall_time_s, 2),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "profile": profile,
        "command": driver_command(),
    }


def driver_command() -> str:
    return " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:300]


def read_result(path: Path, cfg: RunConfig | None = None) -> dict:
    """Read one results file; raise ``StoreError`` if it is corrupt or does not match ``cfg``."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"results file {path} is unreadable ({type(exc).__name__}); move it away or delete it, then re-run"
        ) from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise StoreError(f"{path} is not a resdepth results file (no schema {SCHEMA!r}); move it out of the results dir")
    if cfg is not None and record.get("key") != cfg.key:
        raise StoreError(f"{path} holds config {record.get('key')}, not {cfg.key}; it was renamed or edited, move it away")
    return record


def load_result(cfg: RunConfig, root=None, profile: str = "book") -> dict | None:
    """The stored result of ``cfg``, or None if it has not been run."""
    path = result_path(cfg, root, profile)
    return read_result(path, cfg) if path.exists() else None


def save_result(cfg: RunConfig, record: dict, profile: str, root=None) -> Path:
    path = result_path(cfg, root, profile)
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=False) + "\n")
    return path


def run_or_load(
    cfg: RunConfig,
    profile: str = "book",
    root=None,
    device=None,
    progress: bool = True,
    save_weights: bool = False,
    checkpoint_every: int = 500,
) -> dict:
    """Return the stored result of ``cfg``, or train it, store it and return it.

    With ``save_weights``, the final parameters are stored too, as ``<key>.weights.pt``.
    """
    check_profile(profile)
    if not needs_run(cfg, profile, root, save_weights):
        return load_result(cfg, root, profile)
    start_state = load_stored_weights(cfg.start_from, root, profile) if cfg.start_from else None
    record, weights = train_job(cfg.to_dict(), profile, root, device, progress, save_weights, checkpoint_every,
                                start_state)
    return store_run(cfg, record, weights, profile, root)


def needs_run(cfg: RunConfig, profile: str = "book", root=None, save_weights: bool = False) -> bool:
    """True if ``cfg`` has no stored result, or is a finished run whose asked-for weights are
    missing (a diverged run has no weights worth keeping: it is never retrained for them)."""
    stored = load_result(cfg, root, profile)
    if stored is None:
        return True
    return save_weights and stored["status"] == "ok" and not weights_path(cfg, root, profile).exists()


def train_job(config: dict, profile: str, root, device, progress: bool, save_weights: bool,
              checkpoint_every: int, start_state: dict | None) -> tuple:
    """Train one run and return ``(record, weights or None)``; the unit of work of every executor.

    It writes nothing but the run's checkpoint (resuming from it if one is there), so it can run
    in a worker process or on another machine; the driver stores what it returns.
    """
    from .train import train  # imported here: reading results needs no training machinery

    cfg = RunConfig.from_dict(config)
    code_version = git_commit()  # the code that trains, read before training starts
    outcome, model = train(cfg, device=device, checkpoint_path=checkpoint_path(cfg, root, profile),
                           checkpoint_every=checkpoint_every, progress=progress, start_state=start_state)
    record = {
        "schema": SCHEMA,
        "key": cfg.key,
        "config": cfg.to_dict(),
        "status": outcome["status"],
        "reason": outcome["reason"],
        "steps_done": outcome["steps_done"],
        "total_steps": outcome["total_steps"],
        "final": outcome["final"],
        "best": outcome["best"],
        "history": outcome["history"],
        **({"linearization": outcome["linearization"]} if "linearization" in outcome else {}),
        "provenance": {
            **provenance(profile, outcome["device"], outcome["wall_time_s"], code_version),
            "precision": outcome["precision"],
            "resumed_from_step": outcome["resumed_from_step"],
        },
    }
    weights = None
    if save_weights and outcome["status"] == "ok":
        weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return record, weights


def store_run(cfg: RunConfig, record: dict, weights: dict | None, profile: str = "book", root=None) -> dict:
    """Write a finished run: weights first, then the result (each atomically), then drop the checkpoint.

    A kill between the two writes leaves weights without a result, and the run is simply redone.
    """
    if record.get("key") != cfg.key:
        raise StoreError(f"a worker returned the result of run {record.get('key')} for run {cfg.key}; not stored")
    if weights is not None:
        atomic_torch_save(weights, weights_path(cfg, root, profile))
    save_result(cfg, record, profile, root)
    checkpoint_path(cfg, root, profile).unlink(missing_ok=True)
    return record


def load_weights(cfg: RunConfig, root=None, profile: str = "book") -> dict:
    return _read_weights(weights_path(cfg, root, profile), cfg.key)


def load_stored_weights(ref: str, root=None, profile: str = "book") -> dict:
    """The weights of the stored run ``ref`` = "<experiment>/<key>" (a post-training start)."""
    experiment, key = ref.split("/")
    root = Path(root) if root is not None else results_dir(profile)
    return _read_weights(root / experiment / f"{key}.weights.pt", key)


def _read_weights(path: Path, key: str) -> dict:
    if not path.is_file():
        raise StoreError(f"no stored weights for run {key} at {path}; run it with run_or_load(..., save_weights=True)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise StoreError(f"weights file {path} is corrupt ({type(exc).__name__}); delete it and re-run") from None


def sweep(configs, profile: str = "book", root=None, device=None, progress: bool = True, executor: str = "local",
          address: str | None = None, workers: int | None = None, save_weights: bool = False,
          checkpoint_every: int = 500, max_retries: int = 3) -> list:
    """``run_or_load`` over a grid of configs; returns their records in the order given.

    Finished runs are loaded, not re-run; interrupted ones resume from their checkpoints.
    ``executor`` says where the missing runs train (``resdepth.executors``): "local" (one after
    the other, in this process; the default), "processes" (one worker per GPU, or ``workers``
    CPU workers) or "ray" (Ray tasks, on the cluster at ``address`` or on a local Ray). Workers
    return results to this process, the driver, which alone writes the store.
    """
    from .executors import EXECUTORS, run_elsewhere

    check_profile(profile)
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    configs = list(configs)
    todo = [c for c in configs if needs_run(c, profile, root, save_weights)]
    with tqdm(total=len(configs), initial=len(configs) - len(todo), disable=not progress or not todo,
              desc=f"sweep ({len(todo)} to run, {executor})", unit="run") as bar:
        if executor == "local":
            for cfg in todo:
                run_or_load(cfg, profile, root, device, progress=progress, save_weights=save_weights,
                            checkpoint_every=checkpoint_every)
                bar.update(1)
        else:
            starts = {c.start_from: load_stored_weights(c.start_from, root, profile) for c in todo if c.start_from}
            finished = run_elsewhere(todo, executor, profile=profile, root=root, device=device, address=address,
                                     workers=workers, save_weights=save_weights, checkpoint_every=checkpoint_every,
                                     max_retries=max_retries, start_states=starts)
            for cfg, record, weights in finished:
                record["provenance"].update(command=driver_command(), executor=executor)  # the sweep, not the worker
                store_run(cfg, record, weights, profile, root)
                bar.update(1)
    return [load_result(c, root, profile) for c in configs]


def compute_used(records) -> str:
    """'device <names>, <hours> h of training' summed over the runs' provenance."""
    devices = sorted({r["provenance"]["device"] for r in records})
    hours = sum(r["provenance"]["wall_time_s"] for r in records) / 3600
    return f"device {', '.join(devices)}, {hours:.2f} h of training"


def run_length(settings: dict) -> str:
    """A budget's length per run: 'N epoch(s)' or 'N steps'."""
    return f"{settings['epochs']} epoch(s)" if settings.get("epochs") else f"{settings['steps']} steps"


def history_frame(records) -> "pandas.DataFrame":
    """All evaluation histories as one long table, with the config fields as columns."""
    import pandas as pd

    rows = []
    for r in records:
        flat = {k: v for k, v in r["config"].items() if k != "model_args"}
        flat.update(r["config"]["model_args"])
        for h in r["history"]:
            rows.append({**flat, **h, "status": r["status"], "key": r["key"]})
    return pd.DataFrame(rows)
