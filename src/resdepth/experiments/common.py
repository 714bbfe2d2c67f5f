"""What every experiment module shares: settings from a profile's budget, and budget lines.

An experiment module (one per chapter, see ``resdepth.experiments``) has ``BUDGETS``: for each
profile (``smoke``, ``book``, ``paper``) a dict of settings. A notebook's parameters override
them; ``resolve_settings`` checks each override's name and type, so a typo or a wrong type is one
line that names the fix instead of a traceback later.
"""

import difflib

import pandas as pd

from ..config import check_profile
from ..errors import ConfigError
from ..files import project_data_dir
from ..plan import weights_kept


PROFILES = ("smoke", "book", "paper")


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list, e.g. [0, 1]"
    if isinstance(value, dict):
        return "a mapping, e.g. {name: value}"
    return type(value).__name__


def _same_kind(new, default) -> bool:
    if default is None or new is None:
        return True
    if isinstance(default, bool) or isinstance(new, bool):
        return isinstance(new, bool) and isinstance(default, bool)
    if isinstance(default, (int, float)):
        return isinstance(new, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(new, (list, tuple))
    return isinstance(new, type(default))


def resolve_settings(name: str, budgets: dict, profile: str, budget: str | None = None, **overrides) -> dict:
    """The settings of experiment ``name`` in ``profile``, with every non-None override applied.

    ``budget`` picks another of the module's budgets than the profile's own (e.g. "book_v2", a
    book budget being trained before it replaces "book"); the profile still decides the store.
    An override with an unknown name, or of another kind than the budget's value (a number where
    a list is due), raises ``ConfigError`` with one line that says what to write instead.
    """
    check_profile(profile)
    budget = budget or profile
    if budget not in budgets:
        raise ConfigError(f"{name} has no budget {budget!r}; it has: {', '.join(budgets)}")
    settings = dict(budgets[budget])
    for key, value in overrides.items():
        if key not in settings:
            near = difflib.get_close_matches(key, settings, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; it has: {', '.join(settings)}"
            raise ConfigError(f"{name} has no setting {key!r}{hint}")
        if value is not None and not _same_kind(value, settings[key]):
            raise ConfigError(f"{name}: {key} must be {_kind(settings[key])} (the {profile} profile has "
                              f"{settings[key]!r}); got {value!r}")
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return {"profile": profile, **settings}


def budget_of(settings: dict) -> dict:
    """A run's length as RunConfig keywords: ``{"epochs": N}`` or ``{"steps": N}``."""
    return {"epochs": settings["epochs"]} if settings.get("epochs") else {"steps": settings["steps"]}


def hours_and_devices(records) -> str:
    """'1.9 h on cpu' from the runs' provenance (the device names without their thread notes)."""
    hours = sum(r["provenance"]["wall_time_s"] for r in records) / 3600
    devices = ", ".join(sorted({r["provenance"]["device"].split(" (")[0] for r in records})) or "no device"
    return f"{hours:.1f} h on {devices}"


def format_cell(mean: float, se: float, scale: float = 100.0) -> str:
    """'88.02 ± 0.10' in percent; '—' for a missing cell; no ± for a single seed."""
    if mean != mean:  # NaN
        return "—"
    return f"{mean * scale:.2f}" + (f" ± {se * scale:.2f}" if se == se else "")


def paper_numbers(name: str):
    """A table of the paper's published numbers, committed as ``data/paper/<name>.csv``."""
    return pd.read_csv(project_data_dir() / "paper" / f"{name}.csv")


def stored_so_far(configs, store) -> tuple:
    """(the stored records of ``configs``, those a sweep counts as finished, the number it would
    still train): what a chapter can show of a budget that is still being trained, without
    training anything. A stored run counts as finished only with the weights that a later run of
    ``configs`` starts from (``weights_kept``): without them the sweep trains it again."""
    configs = list(configs)
    keep = weights_kept(configs)
    records = [store.load(c) for c in configs]
    finished = [r for c, r in zip(configs, records) if r is not None and store.is_finished(c, with_weights=keep(c))]
    return [r for r in records if r is not None], finished, len(configs) - len(finished)
