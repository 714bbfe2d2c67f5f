"""Whole-sweep wall time of the Table 1 book grid: the old local executor against the new defaults.

The grid is the book profile's Table 1 grid at depths 10 and 100 (width 16, batch 64, four λ
treatments, the learning-rate grid; ``--seeds`` of its seeds), scaled down so that one arm takes
minutes: each run trains ``--steps`` steps (the book's run is one epoch, 937 steps) on the
committed real Fashion-MNIST sample (1,000 test images, a tenth of the full test set), and
evaluates 4 times as the book's runs do. Steps and test images are both about a tenth of the
book's, so evaluation is about the same share of a run as in the book.

Arms, each in a fresh temporary store, run one after the other in the order given, then again
in reverse (so drift in the machine's load hits every arm alike):

- ``local``: the old default: one process, torch's default threads (2 here), one run at a time;
- ``workers``: the new CPU default (``executor="auto"``): one pinned 1-thread worker per core;
- ``workers+subset``: the same with intermediate evaluations on the first tenth of the test
  images (``eval_images``), the last one on all.

    python benchmarks/sweep_grid.py                  # ~15 min on 2 cores
    python benchmarks/sweep_grid.py --steps 12 --seeds 1 --depths 10   # a quick check
    python benchmarks/sweep_grid.py --grid linearization --steps 40 --arms local workers

``--grid linearization`` does the same for the book's post-training grid (RepVGG-A0 at width
1/4, channel- and layer-wise, the ω grid; one seed), from the stored start network.
"""

import argparse
import csv
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from resdepth.experiments import sweep_configs
from resdepth.results import sweep
from resdepth.store import Store

ARMS = {
    "local": dict(executor="local", stack=False, eval_images=None),
    "workers": dict(executor="auto", stack=False, eval_images=None),
    "workers+subset": dict(executor="auto", stack=False, eval_images=100),
}


def grid(name: str, steps: int, seeds: int, depths: tuple, eval_images):
    """The book grid of ``name``, scaled: ``steps`` per run on the sample. Table 1: 4 evaluations
    per run, as in the book; post-training (``linearization``): one, at the end, as in the book,
    from the book's stored start network."""
    if name == "linearization":
        return [cfg.replace(dataset="sample", epochs=None, steps=steps, eval_images=eval_images)
                for cfg in sweep_configs("linearization_napl", "book")[1:] if cfg.seed < seeds]
    configs = []
    for cfg in sweep_configs("table1_depth_scaling", "book"):
        if dict(cfg.model_args)["depth"] in depths and cfg.seed < seeds:
            configs.append(cfg.replace(experiment="bench_grid", dataset="sample", epochs=None, steps=steps,
                                       eval_every=max(1, steps // 4), eval_images=eval_images))
    return configs


def copy_start_networks(configs, root: Path) -> None:
    """The stored start networks the configs post-train, from the book's store into ``root``."""
    book = Store(profile="book").root
    for ref in {c.start_from for c in configs if c.start_from}:
        for suffix in (".json", ".weights.pt"):
            source = book / f"{ref}{suffix}"
            (root / ref).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, root / f"{ref}{suffix}")


def time_arm(name: str, configs) -> float:
    arm = ARMS[name]
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as root:
        copy_start_networks(configs, Path(root))
        start = time.perf_counter()
        sweep(configs, Store(root, "smoke"), progress=False, executor=arm["executor"], stack=arm["stack"])
        wall = time.perf_counter() - start
    torch.set_num_threads(threads)
    return wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid", default="table1", choices=["table1", "linearization"])
    parser.add_argument("--steps", type=int, default=94, help="steps per run (the book's run: 937)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds of the book grid to include (it has 2)")
    parser.add_argument("--depths", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    rows = []
    order = args.arms + args.arms[::-1]
    for rep, name in enumerate(order):
        configs = grid(args.grid, args.steps, args.seeds, tuple(args.depths), ARMS[name]["eval_images"])
        load = os.getloadavg()[0]
        wall = time_arm(name, configs)
        rows.append({"grid": args.grid, "round": rep // len(args.arms), "arm": name, "runs": len(configs), "steps_per_run": args.steps,
                     "wall_s": round(wall, 2), "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
                     "cores": os.cpu_count(), "torch_threads_default": torch.get_num_threads()})
        print(f"{name:>15}: {len(configs)} runs in {wall:7.1f} s (load {load:.2f})", flush=True)
    out = Path(args.out) / f"sweep_grid-{args.grid}-cpu-{os.cpu_count()}-cores.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    base = statistics.median(r["wall_s"] for r in rows if r["arm"] == "local") if "local" in args.arms else None
    print("\n| arm | wall (s), each round | speed-up over local (median) |\n| --- | --- | --- |")
    for name in args.arms:
        walls = [r["wall_s"] for r in rows if r["arm"] == name]
        ratio = f"{base / statistics.median(walls):.2f}x" if base else "-"
        print(f"| {name} | {', '.join(f'{w:.1f}' for w in walls)} | {ratio} |")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
