"""Where resdepth's files live, and how they are written: atomically.

- datasets: ``$RESDEPTH_DATA``, else the project's ``data/`` folder;
- results: ``$RESDEPTH_RESULTS``, else ``data/results`` (committed); the smoke profile writes to
  ``data/smoke-results`` and runs with tweaked parameters to ``data/scratch-results`` (both
  ignored by git). ``resdepth.store.Store`` is the only reader and writer.

The project's ``data/`` folder is the one in the repository the package was installed from
(``pip install -e .``), or ``./data`` when the package was installed elsewhere.

A write goes to a temporary file in the target's folder (``.<name>.tmp-<pid>``), is fsynced and
renamed over the target; a rename within one filesystem is atomic, so a reader, or a run killed at
any moment, sees the old file or the new one, never half of one. ``Store`` sweeps temporaries whose
writer is dead. This module sits below ``data`` and ``config``, which both write through it.
"""

import os
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]


def project_data_dir() -> Path:
    """The repository's ``data/`` (an editable install), else ``./data``."""
    return REPO_ROOT / "data" if (REPO_ROOT / "data").is_dir() else Path.cwd() / "data"


def data_dir() -> Path:
    """Where datasets and their caches live: ``$RESDEPTH_DATA``, else the project's ``data/``."""
    if os.environ.get("RESDEPTH_DATA"):
        return Path(os.environ["RESDEPTH_DATA"]).expanduser()
    return project_data_dir()


def default_results_dir(profile: str) -> Path:
    if os.environ.get("RESDEPTH_RESULTS"):
        return Path(os.environ["RESDEPTH_RESULTS"]).expanduser()
    return project_data_dir() / ("smoke-results" if profile == "smoke" else "results")


def scratch_results_dir() -> Path:
    """Where runs with tweaked parameters go (ignored by git): ``$RESDEPTH_SCRATCH``, else beside
    ``$RESDEPTH_RESULTS`` when that is set, else ``data/scratch-results``."""
    if os.environ.get("RESDEPTH_SCRATCH"):
        return Path(os.environ["RESDEPTH_SCRATCH"]).expanduser()
    if os.environ.get("RESDEPTH_RESULTS"):
        return Path(os.environ["RESDEPTH_RESULTS"]).expanduser().parent / "scratch-results"
    return project_data_dir() / "scratch-results"


def _temporary_for(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half."""
    path = Path(path)
    tmp = _temporary_for(path)
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_torch_save(obj, path) -> None:
    """``torch.save`` with the same guarantee as ``atomic_write_text``."""
    path = Path(path)
    tmp = _temporary_for(path)
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
