"""Time from start to 93% Fashion-MNIST test accuracy for the residual tower at n = 16: the
project's reference workload for speed.

The run is ``resdepth.train.train`` on the full Fashion-MNIST training set, evaluated on the full
test set every half epoch, and stopped at the first evaluation at or above the target. The clock
starts after the data and model are on the device and includes the evaluations. If the target is
not reached within ``epochs``, the best accuracy and when it was reached are reported instead.

Recipe: tower n=16, lambda = 1/sqrt(n), no BatchNorm in the branches (the paper's Figure 1
model), SGD with momentum 0.9 and weight decay 5e-4, batch 128, linear warm-up over half an epoch,
then cosine to zero over ``epochs``, random crop and flip.
"""

from resdepth.config import RunConfig
from resdepth.train import Extension, device_name, train

STEPS_PER_EPOCH = 60_000 // 128


def config(width: int, epochs: int, lr: float, precision: str) -> RunConfig:
    return RunConfig(
        experiment="benchmark", model="tower", model_args=dict(depth=16, width=width, lam="1/sqrt(n)"),
        dataset="fashion_mnist", epochs=epochs, batch_size=128, lr=lr, momentum=0.9, weight_decay=5e-4,
        schedule="cosine", warmup_steps=STEPS_PER_EPOCH // 2, eval_every=STEPS_PER_EPOCH // 2, precision=precision,
    )


class StopAtAccuracy(Extension):
    """Ends the run at the first evaluation whose test accuracy reaches ``target``."""

    def __init__(self, target: float):
        self.target = target

    def should_stop(self, entry: dict) -> bool:
        return entry["test_acc"] >= self.target


def run(device, width: int = 256, epochs: int = 10, lr: float = 0.1, target: float = 0.93,
        precision: str = "auto") -> tuple:
    """(summary row, history rows) of one timed run."""
    cfg = config(width, epochs, lr, precision)
    record, _ = train(cfg, device=device, progress=True, extensions=[StopAtAccuracy(target)])
    history = record["history"]
    reached = next((h for h in history if h["test_acc"] >= target), None)
    best = record["best"]
    summary = {
        "model": f"tower n=16 w={width}", "device": device_name(device), "precision": record["precision"],
        "target": target, "reached": reached is not None,
        "seconds_to_target": round(reached["elapsed_s"], 1) if reached else None,
        "epochs_to_target": round(reached["epoch"], 2) if reached else None,
        "best_test_acc": round(best["test_acc"], 4), "best_at_seconds": round(best["elapsed_s"], 1),
        "best_at_epoch": round(best["epoch"], 2), "epochs_budget": epochs, "lr": lr,
    }
    rows = [{"elapsed_s": round(h["elapsed_s"], 1), "epoch": round(h["epoch"], 2), "test_acc": h["test_acc"],
             "train_loss": round(h["train_loss"], 4), "device": summary["device"], "width": width} for h in history]
    return summary, rows
