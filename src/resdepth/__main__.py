"""Command line.

    python -m resdepth train --model tower --depth 16 --lam '1/sqrt(n)' --epochs 1
    python -m resdepth sweep table1 --profile paper --executor ray --address auto

``train`` trains one run through the results store (a finished run is loaded, not re-run), shows
a progress bar, and prints the final test accuracy. ``sweep`` runs a chapter's whole grid, in the
profile given, on an executor (``resdepth.executors``); re-running it skips finished runs and
resumes interrupted ones. Bad input exits with status 2 and a one-line error.
"""

import argparse
import sys

from .errors import ResdepthError
from .grids import SWEEP_GRIDS


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m resdepth", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one run (or load it from the results store)")
    t.add_argument("--model", default="tower", help="tower, resnet56, plain56, repvgg_a0, repvgg_a1, repvgg_a2")
    t.add_argument("--dataset", default="fashion_mnist", help="fashion_mnist, cifar10, cifar100, imagenet, sample")
    t.add_argument("--depth", type=int, help="tower: number of residual blocks n")
    t.add_argument("--width", type=int, help="tower: channels")
    t.add_argument("--lam", help="tower: branch scale, a number or '1', '1/n', '1/sqrt(n)', 'n^p'")
    t.add_argument("--batchnorm", type=_bool, help="tower: BatchNorm in the branches (true/false)")
    t.add_argument("--activation", help="tower: relu, gelu or tanh")
    t.add_argument("--width-scale", type=float, help="repvgg: multiply every stage width")
    budget = t.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int)
    budget.add_argument("--steps", type=int)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=0.1)
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--schedule", default="constant", help="constant, cosine or multistep")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--eval-every", type=int, help="steps between evaluations (default: once per epoch)")
    t.add_argument("--train-images", type=int, help="train on the first N training images only")
    t.add_argument("--no-augment", action="store_true", help="no random crop or flip")
    t.add_argument("--experiment", default="cli", help="results go to <results dir>/<experiment>/")
    t.add_argument("--profile", default="book", help="smoke results go to data/smoke-results, others to data/results")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    s = sub.add_parser("sweep", help="run a chapter's grid of runs (finished runs are skipped)")
    s.add_argument("grid", help=", ".join(SWEEP_GRIDS))
    s.add_argument("--profile", default="book", help="smoke, book or paper: the budget in src/resdepth/profiles.py")
    s.add_argument("--executor", default="local", help="local (default), processes or ray")
    s.add_argument("--address", help="ray: the cluster address ('auto', 'ray://head:10001'); none starts Ray here")
    s.add_argument("--workers", type=int, help="processes: number of workers (default: one per GPU, else 1)")
    s.add_argument("--device", default="auto", help="local and processes: auto, cpu, cuda or cuda:N")
    s.add_argument("--max-retries", type=int, default=3, help="times a run whose worker died is retried")
    return p


def run_sweep(args) -> int:
    from .grids import sweep_grid_configs
    from .results import sweep

    configs = sweep_grid_configs(args.grid, args.profile)
    records = sweep(configs, profile=args.profile, device=args.device, executor=args.executor, address=args.address,
                    workers=args.workers, max_retries=args.max_retries)
    diverged = sum(r["status"] == "diverged" for r in records)
    print(f"{args.grid} ({args.profile}): {len(records)} runs stored, {diverged} diverged")
    return 0


MODEL_FLAGS = {"depth": "depth", "width": "width", "lam": "lam", "batchnorm": "batchnorm",
               "activation": "activation", "width_scale": "width_scale"}


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.command == "sweep":
        try:
            return run_sweep(args)
        except ResdepthError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        from .config import RunConfig
        from .results import result_path, run_or_load

        model_args = {name: getattr(args, flag) for flag, name in MODEL_FLAGS.items() if getattr(args, flag) is not None}
        cfg = RunConfig(
            experiment=args.experiment, model=args.model, model_args=model_args, dataset=args.dataset,
            epochs=args.epochs if (args.epochs or args.steps) else 1, steps=args.steps,
            batch_size=args.batch_size, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
            schedule=args.schedule, seed=args.seed, eval_every=args.eval_every,
            train_images=args.train_images, augment=not args.no_augment,
        )
        record = run_or_load(cfg, profile=args.profile, device=args.device, progress=not args.quiet)
    except ResdepthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = result_path(cfg, profile=args.profile)
    if record["status"] == "diverged":
        print(f"run {cfg.key} diverged: {record['reason']}; stored in {path}")
        return 0
    final, best = record["final"], record["best"]
    print(f"final test accuracy: {final['test_acc']:.4f} (best {best['test_acc']:.4f} at step {best['step']}); "
          f"stored in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
