"""One run as a unit of work: a config in, a stored-to-be record (and weights) out.

``train_job`` picks the loop's extensions from the config (``extensions_for``), trains, and
returns the record with its provenance: git commit, torch and Python versions, device, threads
and pinned cores, precision, wall time, date, profile, the driver's command. ``train_stack_job``
does the same for a stack of runs trained as one net (``resdepth.stack``), and ``train_unit``
takes either. It writes nothing but the run's
checkpoint, so it can run in this process, a worker process or a Ray task; the driver stores
what it returns (``resdepth.results``).
"""

import contextlib
import datetime
import os
import platform
import subprocess
import sys

import torch

from .config import RunConfig
from .data import normalize
from .expansion import geometric_complexity
from .files import REPO_ROOT
from .posttraining import MaskFineTuning, PostTraining
from .stack import train_stack
from .store import SCHEMA
from .train import Extension, pick_device, train


class StartWeights(Extension):
    """A run that continues from a stored run's weights (``cfg.start_from`` without linearizing)."""

    def __init__(self, state: dict):
        self.state = state

    def prepare(self, model, data):
        model.load_state_dict(self.state)
        return model


class ComplexityLog(Extension):
    """Logs the exact geometric complexity (Dherin & Munn, Appendix B; fp32, eval mode) on the
    first ``images`` test images at every evaluation (``cfg.gc_images``)."""

    def __init__(self, images: int):
        self.images, self.batches = images, None

    def prepare(self, model, data):
        self.batches = [normalize(chunk, data.mean, data.std) for chunk in data.test_x[: self.images].split(128)]
        return model

    def metrics(self, model) -> dict:
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        value = geometric_complexity(model, [b.to(device) for b in self.batches])
        model.train(was_training)
        return {"geometric_complexity": value}


def extensions_for(cfg: RunConfig, start_state: dict | None) -> list:
    """What ``cfg`` adds to the plain loop, in the order the loop applies them."""
    extensions = []
    if cfg.linearize:
        extensions.append((MaskFineTuning if cfg.mask else PostTraining)(cfg, start_state))
    elif cfg.start_from:
        extensions.append(StartWeights(start_state))
    if cfg.gc_images:
        extensions.append(ComplexityLog(cfg.gc_images))
    return extensions


def git_commit() -> dict:
    """The code that trains: the commit, whether ``src/`` differs from it, and if so the difference
    itself (``git_src_diff``: the diff of tracked files and the untracked ones in full), so that a
    result trained from uncommitted code can still be re-made (issue 15)."""
    def git(*args, strip=True):
        out = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10)
        # git diff --no-index exits 1 when the files differ: its output is still the diff
        ok = out.returncode == 0 or (args[:2] == ("diff", "--no-index") and out.returncode == 1)
        return (out.stdout.strip() if strip else out.stdout) if ok else None

    try:
        commit = git("rev-parse", "HEAD")
        if not commit:
            return {"git_commit": "unknown", "git_dirty_src": None}
        diff = git("diff", "HEAD", "--", "src", strip=False) or ""
        for path in filter(None, (git("ls-files", "--others", "--exclude-standard", "--", "src") or "").splitlines()):
            diff += git("diff", "--no-index", "--", "/dev/null", path, strip=False) or ""
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty_src": None}
    return {"git_commit": commit, "git_dirty_src": bool(diff), **({"git_src_diff": diff} if diff else {})}


def driver_command() -> str:
    """The command that launched this process, as provenance records it: the script's file name
    (``resdepth/__main__.py`` for ``python -m resdepth``, ``pytest/__main__.py`` for
    ``python -m pytest``), then its arguments."""
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    if script == "__main__.py":
        script = f"{os.path.basename(os.path.dirname(os.path.abspath(sys.argv[0])))}/{script}"
    return " ".join([script, *sys.argv[1:]])[:300]


def worker_placement() -> dict:
    """The threads this process trains with and, where the OS says, the CPU cores it is pinned to:
    results on the CPU depend on the thread count (reductions split differently), so it is recorded."""
    placement = {"threads": torch.get_num_threads()}
    if hasattr(os, "sched_getaffinity"):
        placement["cpu_affinity"] = sorted(os.sched_getaffinity(0))
    return placement


def provenance(profile: str, outcome: dict, code_version: dict) -> dict:
    """Where and how a run was computed. ``wall_time_s`` is the run's share of the device: a
    stack's wall time divided by its runs (the whole is ``stack_wall_time_s``)."""
    return {
        **code_version,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": outcome["device"],
        **worker_placement(),
        "wall_time_s": round(outcome["wall_time_s"], 2),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "profile": profile,
        "command": driver_command(),
        "precision": outcome["precision"],
        "resumed_from_step": outcome["resumed_from_step"],
        **{k: outcome[k] for k in ("stacked_with", "stack_wall_time_s") if k in outcome},
    }


def job_result(cfg: RunConfig, outcome: dict, model, profile: str, code_version: dict, save_weights: bool) -> tuple:
    """``(record, weights or None)`` of a trained run, as the store takes them."""
    record = {
        "schema": SCHEMA, "key": cfg.key, "config": cfg.to_dict(),
        **{k: outcome[k] for k in ("status", "reason", "steps_done", "total_steps", "final", "best", "history")},
        **({"linearization": outcome["linearization"]} if "linearization" in outcome else {}),
        "provenance": provenance(profile, outcome, code_version),
    }
    weights = None
    if save_weights and outcome["status"] == "ok":
        weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return record, weights


def train_job(config: dict, profile: str, checkpoint_path, device=None, progress: bool = True,
              save_weights: bool = False, checkpoint_every: int = 500, start_state: dict | None = None) -> tuple:
    """Train one run and return ``(record, weights or None)``; resumes from ``checkpoint_path``."""
    cfg = RunConfig.from_dict(config)
    code_version = git_commit()  # the code that trains, read before training starts
    outcome, model = train(cfg, device=device, checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
                           progress=progress, extensions=extensions_for(cfg, start_state))
    return job_result(cfg, outcome, model, profile, code_version, save_weights)


def train_stack_job(configs: list, profile: str, checkpoint_path, device=None, progress: bool = True,
                    save_weights: bool = False, checkpoint_every: int = 500) -> list:
    """Train compatible runs as one stack (``resdepth.stack.train_stack``); one ``(record,
    weights or None)`` per run, in order, each record naming the others under ``stacked_with``."""
    cfgs = [RunConfig.from_dict(c) for c in configs]
    code_version = git_commit()
    outcomes = train_stack(cfgs, device=device, checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
                           progress=progress, extensions=[extensions_for(c, None) for c in cfgs])
    return [job_result(c, outcome, model, profile, code_version, save_weights) for c, (outcome, model)
            in zip(cfgs, outcomes)]


CPU_THREADS = 1  # intra-op threads of every run on the CPU: CPU results depend on the thread count (reductions
#                   split differently), so it is fixed, and parallelism comes from workers, one per core


@contextlib.contextmanager
def run_threads(device):
    """``CPU_THREADS`` intra-op threads for a run on the CPU, whatever executor runs it (so a key
    gives one result), the process's own count restored after; a GPU run keeps the process's."""
    saved = torch.get_num_threads()
    on_cpu = pick_device(device).type == "cpu"
    if on_cpu:
        torch.set_num_threads(CPU_THREADS)
    try:
        yield
    finally:
        if on_cpu:
            torch.set_num_threads(saved)


def train_unit(configs: list, profile: str, checkpoint_path, device=None, progress: bool = True,
               save_weights: bool = False, checkpoint_every: int = 500, start_state: dict | None = None) -> list:
    """A sweep's unit of work: one run (a list of one config) or a stack; ``[(record, weights), ...]``,
    trained with ``run_threads``."""
    with run_threads(device):
        if len(configs) == 1:
            return [train_job(configs[0], profile, checkpoint_path, device, progress, save_weights, checkpoint_every,
                              start_state)]
        return train_stack_job(configs, profile, checkpoint_path, device, progress, save_weights, checkpoint_every)
