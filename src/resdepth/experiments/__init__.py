"""One module per chapter experiment; ``EXPERIMENTS`` maps each notebook's name to its module.

Every module holds, for its chapter:

- ``NAME`` (the notebook's file name) and ``TITLE``;
- ``BUDGETS``: the settings of each profile, ``smoke`` (seconds, never results), ``book`` (what the
  rendered book shows) and ``paper`` (the paper's own setting), one commented line per field;
- ``CLAIMS``: the paper's claims that the chapter judges, ``{claim id: (claim, paper's value)}``;
- ``EVIDENCE``: the figure or table behind each claim, ``{claim id: its glue:figure name}``
  (the reproduction report links each row to it);
- ``configs(settings)``: the runs to train (empty for analyses at initialisation);
- ``run(settings, store)``: trains what is missing, loads the rest, and returns the chapter's
  results (records and tables);
- ``verdicts(results, settings)``: one ``resdepth.verdict.Verdict`` per claim, by rules written
  before the runs and tested on hand-made results (``tests/test_experiments_*.py``).

A notebook is its parameters, ``resdepth.book.setup`` and one call of ``run``, then plots and
prose; the reproduction report is built from every module's ``CLAIMS`` and the chapters' verdicts.
Adding an experiment is one module here plus its notebook (``book/rerunning.md``).
"""

from ..errors import ConfigError
from . import (combinatorial_explosion, expansion_theorem, function_space, geometric_complexity, lambda_sweep,
               lesion_study, linearization_napl, path_lengths, paths_across_papers, resnet56_ablation,
               table1_depth_scaling, training_basics)
from .common import PROFILES, resolve_settings

EXPERIMENTS = {m.NAME: m for m in (
    training_basics, expansion_theorem, combinatorial_explosion, table1_depth_scaling, lambda_sweep,
    geometric_complexity, linearization_napl, resnet56_ablation, path_lengths, function_space, paths_across_papers,
    lesion_study,
)}


def experiment(name: str):
    """The module of experiment ``name`` (a notebook's name)."""
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


def resolve(name: str, profile: str, budget: str | None = None, **overrides) -> dict:
    """The settings of experiment ``name`` in ``profile`` (its ``budget``, by default the profile's
    own), with every non-None override applied."""
    return resolve_settings(name, experiment(name).BUDGETS, profile, budget, **overrides)


def sweep_configs(name: str, profile: str, budget: str | None = None) -> list:
    """Every run of experiment ``name`` in ``profile`` (its ``budget``, by default the profile's
    own), built exactly as its chapter builds them."""
    return experiment(name).configs(resolve(name, profile, budget))


def sweep_parts(name: str, profile: str, budget: str | None = None) -> list:
    """The runs of experiment ``name`` in the parts, and the order, that ``python -m resdepth sweep``
    trains them: the module's ``sweep_parts`` where it has one (the linearization chapter trains its
    controlled protocol before the rungs of its difficulty ladder, issue 13's order), else one part."""
    module, settings = experiment(name), resolve(name, profile, budget)
    return module.sweep_parts(settings) if hasattr(module, "sweep_parts") else [module.configs(settings)]


def kept_weights(name: str, profile: str, budget: str | None = None) -> list:
    """The runs of experiment ``name`` whose weights its chapter keeps (the module's
    ``weight_configs``; none for a module without one): what ``python -m resdepth sweep`` keeps too."""
    module = experiment(name)
    return module.weight_configs(resolve(name, profile, budget)) if hasattr(module, "weight_configs") else []


def trained_experiments() -> list:
    """The names of the experiments that train runs (the ones ``python -m resdepth sweep`` takes)."""
    return [name for name, m in EXPERIMENTS.items() if m.TRAINS]


__all__ = ["EXPERIMENTS", "PROFILES", "experiment", "kept_weights", "resolve", "sweep_configs", "sweep_parts",
           "trained_experiments"]
