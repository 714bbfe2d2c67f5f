"""The run grids behind the paper chapters, built from a notebook's resolved settings.

Kept in the package so that a chapter, a background sweep and a cluster job all build the very
same configs, and so find the same stored results.
"""

from .config import RunConfig

# Table 1 of Dherin & Munn: rows are (lambda rule, BatchNorm in the branches).
TABLE1_ROWS = {
    "λ=1 with BN": dict(lam="1", batchnorm=True),
    "λ=1 without BN": dict(lam="1", batchnorm=False),
    "λ=1/n without BN": dict(lam="1/n", batchnorm=False),
    "λ=1/√n without BN": dict(lam="1/sqrt(n)", batchnorm=False),
}


def table1_configs(settings: dict) -> list:
    """Every (row, depth, lr, seed) run of Table 1, cheapest depths first and seed-major, so that
    an interrupted sweep has whole seeds done. ``width_by_depth`` overrides ``width`` per depth
    (the paper uses width 128 at n = 1000)."""
    budget = {"epochs": settings["epochs"]} if settings.get("epochs") else {"steps": settings["steps"]}
    configs = []
    for depth in sorted(settings["depths"]):
        width = settings.get("width_by_depth", {}).get(depth, settings["width"])
        for seed in settings["seeds"]:
            for row in TABLE1_ROWS.values():
                for lr in settings["lrs"]:
                    configs.append(RunConfig(
                        experiment="table1_depth_scaling", model="tower",
                        model_args=dict(depth=depth, width=width, **row), dataset=settings["dataset"],
                        batch_size=settings["batch_size"], lr=lr, momentum=0.9, seed=seed,
                        eval_every=settings["eval_every"], **budget,
                    ))
    return configs


# Figures 1 and 2 of Dherin & Munn (Appendix A.3): lam in {0, n^-2, n^-1.5, n^-1.2, n^-1, n^-0.8,
# n^-0.5, n^-0.4, n^-0.3, 1} at n = 16 (the paper's list prints "n" where n^-1 is meant).
LAMBDA_SWEEP = ["0", "n^-2", "n^-1.5", "n^-1.2", "n^-1", "n^-0.8", "n^-0.5", "n^-0.4", "n^-0.3", "1"]


def lambda_sweep_configs(settings: dict) -> list:
    """Every (lam, seed) run of the lambda sweep, logging geometric complexity at each evaluation."""
    budget = {"epochs": settings["epochs"]} if settings.get("epochs") else {"steps": settings["steps"]}
    return [
        RunConfig(
            experiment="lambda_sweep", model="tower",
            model_args=dict(depth=settings["depth"], width=settings["width"], lam=lam, batchnorm=False),
            dataset=settings["dataset"], batch_size=settings["batch_size"], lr=settings["lr"], momentum=0.9,
            seed=seed, eval_every=settings["eval_every"], gc_images=settings["gc_images"], **budget,
        )
        for seed in settings["seeds"]
        for lam in settings["lams"]
    ]


# Post-training partial linearization (ResNets Are Deeper Than You Think): one trained start
# network, then cross-entropy + omega * L0.5 at both granularities over an omega grid.
def linearization_start_config(settings: dict, experiment: str) -> RunConfig:
    """The start network: trained to convergence with its weights stored for post-training."""
    return RunConfig(
        experiment=experiment, model=settings["start_model"], model_args=settings["start_args"],
        dataset=settings["dataset"], epochs=settings["epochs"], batch_size=settings["batch_size"],
        lr=settings["lr"], momentum=0.9, weight_decay=settings["weight_decay"], schedule="cosine",
        seed=settings["start_seed"],
    )


def linearization_configs(settings: dict, start: RunConfig) -> list:
    """Every (granularity, omega, seed) post-training run from ``start``, seed-major, so that an
    interrupted sweep has whole seeds done."""
    from .linearize import post_train_config

    return [
        post_train_config(start, granularity, omega, epochs=settings["post_epochs"], lr=settings["post_lr"],
                          seed=seed, weight_decay=settings["weight_decay"], batch_size=settings["batch_size"],
                          train_images=settings["post_train_images"], alpha_lr=settings["alpha_lr"])
        for seed in settings["seeds"]
        for granularity in ("channel", "layer")
        for omega in settings["omegas"][granularity]
    ]


def linearization_study(settings: dict, experiment: str, profile: str) -> tuple:
    """(start config, start record, post-training configs) of a linearization chapter. The start
    network is loaded from the store, or trained with its weights stored, since every
    post-training run starts from them."""
    from .results import run_or_load

    start_cfg = linearization_start_config(settings, experiment)
    start = run_or_load(start_cfg, profile=profile, save_weights=True)
    return start_cfg, start, linearization_configs(settings, start_cfg)


def run_linearization_study(settings: dict, experiment: str, profile: str) -> tuple:
    """(start config, start record, post-training records) of a linearization chapter: each run
    is loaded from the store, or trained if it is missing."""
    from .results import sweep

    start_cfg, start, configs = linearization_study(settings, experiment, profile)
    return start_cfg, start, sweep(configs, profile=profile)


# The grids a sweep can run outside the notebooks (``python -m resdepth sweep GRID``): grid name ->
# (the notebook whose budgets it takes, its configs from the resolved settings and the profile).
SWEEP_GRIDS = {
    "table1": ("table1_depth_scaling", lambda settings, profile: table1_configs(settings)),
    "lambda_sweep": ("lambda_sweep", lambda settings, profile: lambda_sweep_configs(settings)),
    "linearization_napl": ("linearization_napl",
                           lambda settings, profile: linearization_study(settings, "linearization_napl", profile)[2]),
    "resnet56_ablation": ("resnet56_ablation",
                          lambda settings, profile: linearization_study(settings, "resnet56_ablation", profile)[2]),
}


def sweep_grid_configs(grid: str, profile: str) -> list:
    """Every config of the named grid in ``profile``, built exactly as its chapter builds them."""
    from .config import check_profile
    from .errors import ConfigError
    from .profiles import resolve

    if grid not in SWEEP_GRIDS:
        raise ConfigError(f"unknown grid {grid!r}; choose one of {', '.join(SWEEP_GRIDS)}")
    notebook, build = SWEEP_GRIDS[grid]
    return build(resolve(notebook, check_profile(profile)), profile)


def linearization_budget(settings: dict, start: dict, records: list) -> str:
    """The budget of a linearization chapter, in words, for the top of its figures."""
    from .results import compute_used

    post_images = settings["post_train_images"] or "all"
    return (
        f"Start network: {settings['start_model']} {settings['start_args'] or ''} on {settings['dataset']}, "
        f"{settings['epochs']} epochs (cosine, lr {settings['lr']}, weight decay {settings['weight_decay']}), seed "
        f"{settings['start_seed']}:\n  test accuracy {start['final']['test_acc']:.4f}, {compute_used([start])}.\n"
        f"Post-training: {settings['post_epochs']} epoch(s) on {post_images} training images, cosine from lr "
        f"{settings['post_lr']} (slopes {settings['alpha_lr']}), freeze threshold 0.01, seeds {settings['seeds']},\n  omega channel-wise "
        f"{settings['omegas']['channel']}, layer-wise {settings['omegas']['layer']}; {len(records)} runs, "
        f"{compute_used(records)}."
    )


def linearization_budget_short(settings: dict, start: dict, records: list) -> str:
    """One line for the reproduction report: nets, data, epochs, seeds, device and hours."""
    from .results import compute_used

    return (f"{settings['start_model']} {settings['start_args'] or ''}, {settings['dataset']}, "
            f"{settings['epochs']} + {settings['post_epochs']} epochs, {len(records)} post-training runs, "
            f"seeds {settings['seeds']}, {compute_used([start, *records])}").replace("  ", " ")
