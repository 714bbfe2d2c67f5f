"""resdepth: models, training, linearization and expansion code behind the resdepth book.

Modules, one responsibility each (lower layers first; ``tests/test_imports.py`` keeps them acyclic):
- ``errors``: the one-line errors for bad input; ``files``: where files live, atomic writes;
- ``data``: datasets as uint8 tensor caches, device-resident batches with on-device augmentation;
- ``models``: the model registry (the tower of Dherin & Munn, CIFAR ResNets, RepVGG);
- ``config``: ``RunConfig``, a frozen run description whose hash names its results file;
- ``store``: ``Store``, the results of one profile, checked on every read;
- ``train``: the one training loop and its ``Extension`` hooks;
- ``linearize``, ``posttraining``, ``pathlength``, ``merge``: post-training linearization, NAPL,
  merging linear layers (*ResNets Are Deeper Than You Think*);
- ``expansion``, ``function_space``: Theorem 3.1 terms, geometric complexity, Proposition 1;
- ``jobs``, ``executors``, ``results``: one run as a unit of work, where it runs, run-or-load;
- ``verdict``: the ``Verdict`` record and the statistics that decide it;
- ``experiments``: one module per chapter (budgets, runs, analysis, verdict rules);
- ``book``: what every notebook repeats (setup, show-and-glue, verdicts, the report's table).
"""

__version__ = "0.1.0"

# The public API, imported on first use (``import resdepth`` stays light; torch loads when needed):
#   resdepth.RunConfig, resdepth.Store, resdepth.build_model, resdepth.list_models,
#   resdepth.load_dataset, resdepth.run_or_load, resdepth.sweep, resdepth.load_model,
#   resdepth.load_run, resdepth.runs (= runs_frame), resdepth.experiment
_API = {
    "RunConfig": "config", "Store": "store", "build_model": "models", "list_models": "models",
    "load_dataset": "data", "run_or_load": "results", "sweep": "results", "load_model": "results",
    "runs_frame": "results", "runs": "results", "load_run": "results", "experiment": "experiments",
}
__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'resdepth' has no attribute {name!r}")
