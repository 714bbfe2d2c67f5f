"""Training a residual tower: the machinery every later chapter stands on, on one real run.

The tower of Dherin & Munn (Appendix A) with lambda = 1/sqrt(n) and no BatchNorm, trained with
SGD and momentum 0.9 at a constant learning rate, one run per seed. The chapter shows the data,
the runs' provenance, learning curves and a per-seed summary; it judges no claim of the papers.
"""

import pandas as pd

from ..config import RunConfig
from ..data import load_dataset
from ..results import history_frame, sweep


NAME = "training_basics"
TITLE = "Training a residual tower"
TRAINS = True

BUDGETS = {
    "smoke": {
        "dataset": "sample",  # the committed 1,600-image Fashion-MNIST sample (never results)
        "depth": 4,  # residual blocks n
        "width": 16,  # channels of the tower
        "stem_pool": "same",  # the stem's max-pool padding: Flax 'SAME', the paper's (resdepth.models.tower)
        "epochs": 1,  # passes over the training set
        "seeds": [0],  # one run per seed (init and data order)
        "lr": 0.05,  # SGD learning rate, constant (momentum 0.9, no weight decay)
        "batch_size": 64,  # images per step
    },
    "book": {
        "dataset": "fashion_mnist",  # 60,000 training images, zero-padded to 32x32
        "depth": 16,  # residual blocks n
        "width": 32,  # channels of the tower
        "stem_pool": "same",  # the stem's max-pool padding: Flax 'SAME', the paper's (resdepth.models.tower)
        "epochs": 6,  # passes over the training set
        "seeds": [0, 1],  # one run per seed (init and data order)
        "lr": 0.05,  # SGD learning rate, constant (momentum 0.9, no weight decay)
        "batch_size": 128,  # images per step
    },
    "paper": {
        "dataset": "cifar10",  # 50,000 training images, 32x32 RGB
        "depth": 16,  # residual blocks n
        "width": 256,  # channels of the tower (the paper's Appendix A)
        "stem_pool": "same",  # the stem's max-pool padding: Flax 'SAME', the paper's (resdepth.models.tower)
        "epochs": 80,  # passes over the training set (about 100k steps at batch 64)
        "seeds": [0, 1, 2, 3, 4],  # one run per seed (init and data order)
        "lr": 0.3,  # SGD learning rate, constant (momentum 0.9, no weight decay)
        "batch_size": 64,  # images per step
    },
}

CLAIMS = {}  # the chapter shows the machinery; it judges no claim of the papers
EVIDENCE = {}  # the figure or table behind each claim: none

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def configs(settings: dict) -> list:
    """One run per seed: the tower with lambda = 1/sqrt(n), no BatchNorm, evaluated once per epoch."""
    return [
        RunConfig(
            experiment=NAME, model="tower",
            model_args=dict(depth=settings["depth"], width=settings["width"], lam="1/sqrt(n)", batchnorm=False,
                            stem_pool=settings["stem_pool"]),
            dataset=settings["dataset"], epochs=settings["epochs"], batch_size=settings["batch_size"],
            lr=settings["lr"], momentum=0.9, seed=seed,
        )
        for seed in settings["seeds"]
    ]


def sample_images(count: int = 16, every: int = 100) -> list:
    """(image 32x32, class name) of ``count`` images of the committed sample's training split,
    every ``every``-th one, padded exactly as the training data is."""
    sample = load_dataset("sample")
    return [(sample.train_x[i, 0], FASHION_CLASSES[int(sample.train_y[i])]) for i in range(0, count * every, every)]


def provenance_table(records) -> pd.DataFrame:
    """One line per run: seed, status, device, wall time (s), date, commit (8 characters), profile."""
    prov = pd.DataFrame([{**r["provenance"], "seed": r["config"]["seed"], "status": r["status"]} for r in records])
    prov["commit"] = prov["git_commit"].str[:8]
    return prov[["seed", "status", "device", "wall_time_s", "date", "commit", "profile"]]


def summary_table(records) -> pd.DataFrame:
    """One line per run: seed, status, final and best test accuracy, median images per second."""
    return pd.DataFrame([
        {"seed": r["config"]["seed"], "status": r["status"],
         "final test acc": r["final"]["test_acc"] if r["final"] else float("nan"),
         "best test acc": r["best"]["test_acc"] if r["best"] else float("nan"),
         "images/s": pd.Series([h["images_per_s"] for h in r["history"]], dtype=float).median()}
        for r in records
    ])


def budget_text(settings: dict, records) -> str:
    """The budget in words, with the device and the training time from the runs' provenance."""
    minutes = sum(r["provenance"]["wall_time_s"] for r in records) / 60
    devices = ", ".join(sorted({r["provenance"]["device"] for r in records}))
    return (f"Budget: dataset {settings['dataset']}, {settings['epochs']} epochs, {len(records)} seed(s),\n"
            f"        tower depth n={settings['depth']}, width {settings['width']}, batch {settings['batch_size']}, "
            f"lr {settings['lr']} (constant),\n"
            f"        device {devices}, {minutes:.1f} min of training in all.")


def final_accuracy_text(summary: pd.DataFrame) -> str:
    """'Final test accuracy: m ± se (standard error over k seeds).'"""
    mean, sem = summary["final test acc"].mean(), summary["final test acc"].sem()
    spread = f" ± {sem:.4f} (standard error over {len(summary)} seeds)" if len(summary) > 1 else " (one seed)"
    return f"Final test accuracy: {mean:.4f}{spread}."


def run(settings: dict, store) -> dict:
    """Train the missing runs, load the rest; return records, histories and the chapter's tables."""
    records = sweep(configs(settings), store)
    summary = summary_table(records)
    return {"records": records, "history": history_frame(records), "provenance": provenance_table(records),
            "summary": summary, "budget_text": budget_text(settings, records),
            "final_text": final_accuracy_text(summary)}


def verdicts(results: dict, settings: dict) -> list:
    """No claim is judged in this chapter."""
    return []
