"""The benchmark suite, in one command: tables on stdout, CSV files in benchmarks/results/.

    python benchmarks/run.py                      # throughput and expansion cost (minutes)
    python benchmarks/run.py --time-to-accuracy   # also the time to 93% (long on a CPU)
    python benchmarks/run.py --only workload      # the book's own workload (workload.py)
    python benchmarks/run.py --only time_to_accuracy --width 64 --precision bf16

Sections: ``throughput`` (project loop vs naive loop, MFU on CUDA), ``expansion_cost`` (M2 and
geometric complexity against depth), ``time_to_accuracy``, ``workload`` (training steps of the
book's own runs, interleaved rounds at 1 and 2 threads; see workload.py). Each CSV is named after
its section and the device, so CPU and GPU results sit side by side. ``time_to_accuracy`` and
``workload`` run only when asked for (``--time-to-accuracy``, ``--workload`` or ``--only``).
"""

import argparse
import re
import sys
from pathlib import Path

import pandas as pd
import torch

import expansion_cost
import throughput
import time_to_accuracy
import workload
from resdepth.train import device_name, pick_device

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = ("throughput", "expansion_cost", "time_to_accuracy", "workload")
OPT_IN = ("time_to_accuracy", "workload")  # run only when asked for


def result_path(section: str, device: torch.device) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", device_name(device).lower()).strip("-")
    return RESULTS / f"{section}-{slug}.csv"


def save(rows, section: str, device: torch.device) -> Path:
    path = result_path(section, device)
    RESULTS.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def show(title: str, rows) -> None:
    print(f"\n{title}\n" + pd.DataFrame(rows).to_string(index=False) + "\n", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", choices=SECTIONS, help="run these sections only")
    p.add_argument("--time-to-accuracy", action="store_true", help="include the time-to-93%% run")
    p.add_argument("--workload", action="store_true", help="include the book's workload (workload.py)")
    p.add_argument("--device", default="auto")
    p.add_argument("--models", nargs="*", default=list(throughput.MODELS), choices=list(throughput.MODELS))
    p.add_argument("--steps", type=int, default=None,
                   help="throughput: timed steps, after as many warm-up steps (default 6 on CPU, 50 on GPU); "
                        "workload: timed steps per case and round (default: each case's own)")
    p.add_argument("--peak-tflops", type=float, help="bf16 dense peak of the GPU, if its name is not in flops.py")
    p.add_argument("--depths", type=int, nargs="*", default=[2, 4, 8, 16, 32, 64, 128, 256])
    p.add_argument("--brute-force-max-depth", type=int, default=64)
    p.add_argument("--width", type=int, default=256, help="time to accuracy: tower width")
    p.add_argument("--epochs", type=int, default=10, help="time to accuracy: epoch budget")
    p.add_argument("--lr", type=float, default=0.1, help="time to accuracy: peak learning rate")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="time to accuracy: auto, fp32 or bf16; workload: bf16 adds bf16 rows on the CPU")
    workload.add_arguments(p.add_argument_group("workload"), steps=False, precision=False)
    args = p.parse_args(argv)
    device = pick_device(args.device)
    opted = {"time_to_accuracy": args.time_to_accuracy, "workload": args.workload}
    sections = args.only or [s for s in SECTIONS if s not in OPT_IN or opted[s]]
    gpu = device.type == "cuda"
    print(f"device: {device_name(device)}; torch {torch.__version__}")

    if "throughput" in sections:
        rows = throughput.run(device, args.models, args.steps or (50 if gpu else 6),
                              peak_tflops=args.peak_tflops)
        show("Training throughput (images/s; vs_naive: ratio to the naive loop)", rows)
        print(f"saved {save(rows, 'throughput', device)}")
    if "expansion_cost" in sections:
        rows, fits = expansion_cost.run(args.depths, args.brute_force_max_depth, device=device)
        show("Expansion and geometric-complexity cost against depth n (seconds)", rows)
        show("Fitted exponent of time against n (1: linear, 2: quadratic)", fits)
        print(f"saved {save(rows, 'expansion_cost', device)}, {save(fits, 'expansion_cost_fit', device)}")
    if "time_to_accuracy" in sections:
        summary, history = time_to_accuracy.run(device, args.width, args.epochs, args.lr, precision=args.precision)
        show("Time to 93% Fashion-MNIST test accuracy, tower n=16", [summary])
        print(f"saved {save([summary], 'time_to_accuracy', device)}, {save(history, 'time_to_accuracy_history', device)}")
    if "workload" in sections:
        path = result_path("workload", device)
        rows = workload.run(device, args.cases, args.rounds, args.steps, args.warmup, args.threads,
                            [args.precision], args.peak_tflops, csv_path=path)
        workload.report(rows)
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
