"""Command line.

    python -m resdepth train --model tower --depth 16 --lam '1/sqrt(n)' --epochs 1
    python -m resdepth sweep table1_depth_scaling --profile paper --executor ray --address auto
    python -m resdepth sweep linearization_napl --budget book_v2       # a chapter's next book budget
    python -m resdepth plan linearization_napl --budget book_v2        # what it would train, and for how long
    python -m resdepth remake --count 2                                 # re-train 2 stored runs and compare

``train`` trains one run through the results store (a finished run is loaded, not re-run), shows
a progress bar, and prints the final test accuracy. ``sweep`` runs a chapter's whole grid (the
chapter's notebook name; ``resdepth.experiments``), in the profile given, on an executor
(``resdepth.executors``); re-running it skips finished runs and resumes interrupted ones. Bad
input exits with status 2 and a one-line error.
"""

import argparse
import os
import sys

from .book import replace_report_table, report_markdown
from .errors import ConfigError, ResdepthError
from .files import scratch_results_dir
from .experiments import kept_weights, sweep_configs, sweep_parts, trained_experiments
from .models import list_models, model_arg_names
from .plan import plan_text, sweep_plan
from .results import run_or_load, sweep
from .store import Store


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
    t.add_argument("--model", default="tower", help=f"one of: {', '.join(list_models())}")
    t.add_argument("--dataset", default="fashion_mnist", help="fashion_mnist, cifar10, cifar100, imagenet, sample")
    t.add_argument("--depth", type=int, help="tower: number of residual blocks n")
    t.add_argument("--width", type=int, help="tower: channels")
    t.add_argument("--lam", help="tower: branch scale, a number or '1', '1/n', '1/sqrt(n)', 'n^p'")
    t.add_argument("--batchnorm", type=_bool, help="tower: BatchNorm in the branches (true/false)")
    t.add_argument("--activation", help="tower: relu, gelu or tanh")
    t.add_argument("--stem-pool", help="tower: the stem's max-pool padding, same (Flax, default) or symmetric")
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
    t.add_argument("--profile", default=os.environ.get("RESDEPTH_PROFILE", "book"),
                   help="book (default, or $RESDEPTH_PROFILE), smoke or paper; smoke runs go to data/smoke-results")
    t.add_argument("--to-book", action="store_true",
                   help="store the run in the profile's results (data/results); by default it goes to the scratch "
                        "store data/scratch-results, which also reads the profile's stored runs")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    s = sub.add_parser("sweep", help="run a chapter's grid of runs (finished runs are skipped)")
    s.add_argument("experiment", help=f"a chapter that trains: {', '.join(trained_experiments())}")
    s.add_argument("--profile", default="book", help="smoke, book or paper: the budgets in src/resdepth/experiments/")
    s.add_argument("--budget", help="another of the chapter's budgets than the profile's own, e.g. book_v2 "
                                    "(a book budget trained ahead of replacing 'book'); the profile picks the store")
    s.add_argument("--executor", default="auto",
                   help="auto (default: processes on a CPU of several cores, else local), local, processes or ray")
    s.add_argument("--address", help="ray: the cluster address ('auto', 'ray://head:10001'); none starts Ray here")
    s.add_argument("--workers", type=int,
                   help="processes: number of workers (default: one per GPU, else one 1-thread worker per core)")
    s.add_argument("--stack", default="auto", type=_stack_choice,
                   help="train compatible runs as one grouped net: auto (default: on CUDA only), true or false")
    s.add_argument("--stack-size", type=int, default=16, help="most runs in one stack (default 16)")
    s.add_argument("--gpus-per-unit", type=float, default=1.0,
                   help="ray: the fraction of a GPU each run or stack asks for (default 1; 0.25 puts four on a GPU)")
    s.add_argument("--device", default="auto", help="local and processes: auto, cpu, cuda or cuda:N")
    s.add_argument("--max-retries", type=int, default=3, help="times a run whose worker died is retried")
    s.add_argument("--part", type=int, help="train only this part of the chapter's runs (1, 2, ...; default: every "
                                            "part, in order; the linearization chapter's book_v2 has 4: its protocol, "
                                            "its phase-2 grid, then two rungs of its difficulty ladder)")
    pl = sub.add_parser("plan", help="print a chapter's plan: runs stored, runs to train, measured core-hours")
    pl.add_argument("experiment", help=f"a chapter that trains: {', '.join(trained_experiments())}")
    pl.add_argument("--profile", default="book", help="smoke, book or paper")
    pl.add_argument("--budget", help="another of the chapter's budgets than the profile's own, e.g. book_v2")
    pl.add_argument("--threads", type=int, default=1, help="threads per run for the timing (default 1: one per worker)")
    r = sub.add_parser("report", help="print the reproduction report's table, built from every chapter's CLAIMS")
    r.add_argument("--write", metavar="PATH", help="replace the list-table of this markdown page with it")
    m = sub.add_parser("remake", help="re-train a random sample of stored runs from their configs and compare")
    m.add_argument("--profile", default="book", help="the store whose runs are checked: smoke, book or paper")
    m.add_argument("--count", type=int, default=2, help="how many runs (default 2)")
    m.add_argument("--seed", type=int, default=0, help="seeds the draw of the runs (default 0)")
    m.add_argument("--max-steps", type=int, default=2000, help="only runs of at most this many steps (default 2000)")
    return p


def _stack_choice(text: str):
    choice = {"auto": "auto", "true": True, "false": False}.get(text.lower())
    if choice is None:
        raise argparse.ArgumentTypeError(f"--stack takes auto, true or false; got {text!r}")
    return choice


def run_report(args) -> int:
    if args.write:
        replace_report_table(args.write)
        print(f"wrote the reproduction report's table into {args.write}")
    else:
        print(report_markdown(), end="")
    return 0


def run_remake(args) -> int:
    from .remake import remake

    if args.count < 1 or args.max_steps < 1:
        raise ConfigError(f"--count and --max-steps must be >= 1; got {args.count} and {args.max_steps}")
    table = remake(Store(profile=args.profile), args.count, args.seed, args.max_steps, progress=True)
    print(table.to_string(index=False) if len(table) else f"no stored {args.profile} run of at most "
          f"{args.max_steps} steps that starts from nothing")
    return 0


def run_plan(args) -> int:
    if args.experiment not in trained_experiments():
        raise ConfigError(f"unknown experiment {args.experiment!r} to plan; the chapters that train are: "
                          f"{', '.join(trained_experiments())}")
    if args.threads < 1:
        raise ConfigError(f"--threads must be >= 1; got {args.threads}")
    keep = kept_weights(args.experiment, args.profile, args.budget)
    plan = sweep_plan(sweep_configs(args.experiment, args.profile, args.budget), Store(profile=args.profile),
                      args.threads, save_weights=keep)
    print(plan.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(plan_text(plan, os.cpu_count() if args.threads == 1 else 1))
    return 0


def run_sweep(args) -> int:
    if args.experiment not in trained_experiments():
        raise ConfigError(f"unknown experiment {args.experiment!r} to sweep; the chapters that train are: "
                          f"{', '.join(trained_experiments())}")
    parts = sweep_parts(args.experiment, args.profile, args.budget)
    if args.part is not None and not 1 <= args.part <= len(parts):
        raise ConfigError(f"--part must be 1 to {len(parts)} for {args.experiment} ({args.budget or args.profile}); "
                          f"got {args.part}")
    keep = kept_weights(args.experiment, args.profile, args.budget)  # the weights the chapter keeps
    for number, configs in enumerate(parts, start=1):
        if args.part not in (None, number):
            continue
        records = sweep(configs, Store(profile=args.profile), device=args.device, executor=args.executor,
                        save_weights=keep, address=args.address, workers=args.workers, max_retries=args.max_retries,
                        stack=args.stack, stack_size=args.stack_size, gpus_per_unit=args.gpus_per_unit)
        diverged = sum(r["status"] == "diverged" for r in records)
        print(f"{args.experiment} ({args.budget or args.profile}), part {number} of {len(parts)}: {len(records)} runs "
              f"stored, {diverged} diverged")
    return 0


MODEL_FLAGS = {"depth": "depth", "width": "width", "lam": "lam", "batchnorm": "batchnorm",
               "activation": "activation", "stem_pool": "stem_pool", "width_scale": "width_scale"}


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.command in ("sweep", "report", "plan", "remake"):
        try:
            return {"sweep": run_sweep, "report": run_report, "plan": run_plan, "remake": run_remake}[args.command](args)
        except ResdepthError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        from .config import RunConfig

        model_args = {name: getattr(args, flag) for flag, name in MODEL_FLAGS.items() if getattr(args, flag) is not None}
        unused = sorted(set(model_args) - set(model_arg_names(args.model)))
        if unused:
            flags = ", ".join("--" + name.replace("_", "-") for name in unused)
            raise ConfigError(f"model {args.model} takes no {flags}; it takes: "
                              f"{', '.join('--' + a.replace('_', '-') for a in model_arg_names(args.model)) or 'none'}")
        cfg = RunConfig(
            experiment=args.experiment, model=args.model, model_args=model_args, dataset=args.dataset,
            epochs=args.epochs if (args.epochs is not None or args.steps is not None) else 1, steps=args.steps,
            batch_size=args.batch_size, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
            schedule=args.schedule, seed=args.seed, eval_every=args.eval_every,
            train_images=args.train_images, augment=not args.no_augment,
        )
        store = Store(profile=args.profile)
        if not args.to_book and args.profile != "smoke":
            store = Store(scratch_results_dir(), profile=args.profile, reads_from=store)
        record = run_or_load(cfg, store, device=args.device, progress=not args.quiet)
    except ResdepthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = store.result_path(cfg)
    if record["status"] == "diverged":
        print(f"run {cfg.key} diverged: {record['reason']}; stored in {path}")
        return 0
    final, best = record["final"], record["best"]
    print(f"final test accuracy: {final['test_acc']:.4f} (best {best['test_acc']:.4f} at step {best['step']}); "
          f"stored in {path}")
    return 0


INTERRUPTED = 130  # the shell's exit status for a run stopped by Ctrl-C (128 + SIGINT)


def main_interruptible(argv=None) -> int:
    """``main``, where Ctrl-C ends with one line instead of a traceback: the runs already stored
    stay stored, and a run cut short resumes from its last checkpoint when the command is re-run."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        print("interrupted: the finished runs are stored; re-run the same command to resume the others "
              "from their last checkpoints", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main_interruptible())
