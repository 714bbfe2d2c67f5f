"""Can a stored result be re-made from the repository? Re-train a sample of stored runs from their
configs and compare (issue 15).

A run is named by its config's hash, and on the CPU every run trains on one thread
(``resdepth.jobs.CPU_THREADS``): where the code, the torch build and the CPU are those of the stored
run, the re-made record must equal it bit for bit. Where the CPU model or the thread count differ,
floating-point reductions split differently and the runs drift apart as any two chaotic
trajectories do; the drift is measured, not assumed. ``remake`` trains in a scratch store and
never writes the store it checks.
"""

import math
import random
import tempfile

import pandas as pd

from .config import RunConfig
from .jobs import train_unit
from .plan import total_steps, training_images
from .store import Store


def cheapest_runs(store: Store, count: int, seed: int = 0, max_steps: int = 2_000) -> list:
    """``count`` stored records drawn at random (``seed``) among the finished runs that start from
    nothing (their start network's weights would be needed) and take at most ``max_steps`` steps."""
    candidates = []
    for record in store.records():
        cfg = RunConfig.from_dict(record["config"])
        if record["status"] == "ok" and not cfg.start_from and \
                total_steps(cfg, training_images(cfg.dataset, cfg.classes)) <= max_steps:
            candidates.append(record)
    candidates.sort(key=lambda r: (r["config"]["experiment"], r["key"]))
    return random.Random(seed).sample(candidates, min(count, len(candidates)))


def compare(stored: dict, remade: dict) -> dict:
    """One line: the run, where each was computed, the final test accuracies, the largest
    difference of test accuracy over the evaluations, and whether the histories are identical
    (timings aside)."""
    def evaluations(record):
        return [{k: v for k, v in h.items() if k not in ("images_per_s", "elapsed_s")} for h in record["history"]]

    pairs = list(zip(stored["history"], remade["history"]))
    drift = max((abs(a["test_acc"] - b["test_acc"]) for a, b in pairs), default=math.nan)
    return {"experiment": stored["config"]["experiment"], "key": stored["key"],
            "stored on": stored["provenance"]["device"], "re-made on": remade["provenance"]["device"],
            "stored acc": stored["final"]["test_acc"], "re-made acc": remade["final"]["test_acc"],
            "largest |Δ acc|": drift, "identical": evaluations(stored) == evaluations(remade)}


def remake(store: Store, count: int = 2, seed: int = 0, max_steps: int = 2_000, progress: bool = False) -> pd.DataFrame:
    """Re-train ``count`` stored runs of ``store`` (``cheapest_runs``) from their configs in a
    scratch store, on the CPU, and compare each with what is stored (``compare``)."""
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for stored in cheapest_runs(store, count, seed, max_steps):
            cfg = RunConfig.from_dict(stored["config"])
            (remade, _), = train_unit([cfg.to_dict()], store.profile, Store(scratch).checkpoint_path(cfg),
                                      device="cpu", progress=progress)
            rows.append(compare(stored, remade))
    return pd.DataFrame(rows, columns=["experiment", "key", "stored on", "re-made on", "stored acc", "re-made acc",
                                       "largest |Δ acc|", "identical"])

