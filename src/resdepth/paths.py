"""Where resdepth reads datasets and writes results.

- datasets: ``$RESDEPTH_DATA``, else the project's ``data/`` folder;
- results: ``$RESDEPTH_RESULTS``, else ``data/results`` (committed to git). The smoke profile
  writes to ``data/smoke-results`` (ignored by git), so smoke numbers can never be shown as results;
- checkpoints of unfinished runs: a ``checkpoints/`` folder beside the results folder (ignored).

The project's ``data/`` folder is the one in the repository the package was installed from
(``pip install -e .``), or ``./data`` when the package was installed elsewhere.
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def project_data_dir() -> Path:
    return REPO_ROOT / "data" if (REPO_ROOT / "data").is_dir() else Path.cwd() / "data"


def data_dir() -> Path:
    if os.environ.get("RESDEPTH_DATA"):
        return Path(os.environ["RESDEPTH_DATA"]).expanduser()
    return project_data_dir()


def results_dir(profile: str = "book") -> Path:
    if os.environ.get("RESDEPTH_RESULTS"):
        return Path(os.environ["RESDEPTH_RESULTS"]).expanduser()
    return project_data_dir() / ("smoke-results" if profile == "smoke" else "results")

