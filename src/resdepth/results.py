"""The results store: one JSON file per run, named by the hash of its config.

    <results dir>/<experiment>/<config.key>.json

Each file holds the config, the per-evaluation metrics history, final and best metrics, the
status ("ok" or "diverged", with the reason), and provenance: git commit, torch version, device,
wall time, date and profile. ``run_or_load`` returns a stored result or trains and stores it;
``sweep`` does that over a grid, skipping finished runs and resuming interrupted ones from their
checkpoints.

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
from .errors import StoreError
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
        "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:300],
    }


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
    from .train import train  # imported here: reading results needs no training machinery

    check_profile(profile)
    stored = load_result(cfg, root, profile)
    weights_missing = save_weights and not weights_path(cfg, root, profile).exists()
    if stored is not None and (stored["status"] != "ok" or not weights_missing):
        return stored  # a diverged run has no weights worth keeping: never retrain it for them
    ckpt = checkpoint_path(cfg, root, profile)
    start_state = load_stored_weights(cfg.start_from, root, profile) if cfg.start_from else None
    code_version = git_commit()  # the code that trains, read before training starts
    outcome, model = train(cfg, device=device, checkpoint_path=ckpt, checkpoint_every=checkpoint_every,
                           progress=progress, start_state=start_state)
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
        "provenance": provenance(profile, outcome["device"], outcome["wall_time_s"], code_version),
    }
    if save_weights:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        atomic_torch_save(state, weights_path(cfg, root, profile))
    save_result(cfg, record, profile, root)
    ckpt.unlink(missing_ok=True)
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


def sweep(configs, profile: str = "book", root=None, device=None, progress: bool = True, **kwargs) -> list:
    """``run_or_load`` over a grid of configs, in order; finished runs are loaded, not re-run."""
    configs = list(configs)
    todo = sum(load_result(c, root, profile) is None for c in configs)
    results = []
    with tqdm(total=len(configs), disable=not progress or todo == 0, desc=f"sweep ({todo} to run)", unit="run") as bar:
        for cfg in configs:
            results.append(run_or_load(cfg, profile, root, device, progress=progress, **kwargs))
            bar.update(1)
    return results


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
