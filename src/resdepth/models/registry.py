"""The model registry, as in timm: every model is one constructor function decorated with
``@register_model``, registered under the function's name.

    @register_model
    def repvgg_a2(width_scale: float = 1.0, in_channels: int = 3, num_classes: int = 10) -> RepVGG:
        \"\"\"RepVGG-A2 (Ding et al., 2021, Table 2), strides adapted to 32x32 inputs.\"\"\"
        return RepVGG("a2", width_scale, in_channels, num_classes)

The constructor's signature is the model's interface: its keyword arguments other than
``in_channels`` and ``num_classes`` are the model arguments (``model_arg_names``), and their
defaults are the model's defaults (``model_defaults``), which go into the hash that names stored
results, so never change a default of a registered model.

Adding a model is one decorated function in one file of this package: put it in an existing model
file, or in a new file imported from ``models/__init__.py`` (the import order is the registration
order, which ``list_models`` reports). A new argument name also needs a value check:
``@register_arg_check("name")`` on a function ``check(value, *, args, model)`` that raises a
one-line ``ConfigError`` (``tests/test_models.py`` checks that every argument has one).

``check_model_args`` is the one place where model arguments are checked: the model name, the
argument names and each value. ``build_model`` calls it, so every model built by name is checked.
"""

import inspect
from collections.abc import Callable

from ..errors import ConfigError

MODELS: dict[str, Callable] = {}  # name -> constructor, in registration order
ARG_CHECKS: dict[str, Callable] = {}  # argument name -> check(value, *, args, model)
_NOT_MODEL_ARGS = ("in_channels", "num_classes")


def register_model(fn: Callable) -> Callable:
    """Decorator: register ``fn`` as the model named ``fn.__name__``; returns ``fn`` unchanged."""
    name = fn.__name__
    if name in MODELS:
        raise ValueError(f"model {name!r} is registered twice")
    MODELS[name] = fn
    return fn


def register_arg_check(*arg_names: str) -> Callable:
    """Decorator: ``check(value, *, args, model)`` checks the value of the model arguments
    ``arg_names`` of any model; ``args`` are all the model's arguments (defaults filled in)."""

    def decorate(check: Callable) -> Callable:
        for arg in arg_names:
            if arg in ARG_CHECKS:
                raise ValueError(f"model argument {arg!r} has two checks")
            ARG_CHECKS[arg] = check
        return check

    return decorate


def list_models() -> list[str]:
    """The registered model names, in registration order."""
    return list(MODELS)


def _params(name: str) -> dict:
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(list_models())}")
    return {p: v for p, v in inspect.signature(MODELS[name]).parameters.items() if p not in _NOT_MODEL_ARGS}


def model_arg_names(name: str) -> list:
    """The keyword arguments a model accepts, beyond in_channels and num_classes."""
    return list(_params(name))


def model_defaults(name: str) -> dict:
    """The model's keyword arguments that have defaults, with those defaults."""
    return {p: v.default for p, v in _params(name).items() if v.default is not inspect.Parameter.empty}


def check_model_args(name: str, args: dict) -> dict:
    """Check a model's name and arguments; return ``args`` merged over the model's defaults.

    Raises a one-line ``ConfigError`` for an unknown model, an unknown or missing argument, or a
    bad value (see ``ARG_CHECKS``). Values are returned as given, not converted.
    """
    params = _params(name)
    accepted = ", ".join(params) or "none"
    unknown = set(args) - set(params)
    if unknown:
        unknown = ", ".join(sorted(map(str, unknown)))
        raise ConfigError(f"model {name!r} takes no argument(s) {unknown}; it takes: {accepted}")
    merged = {**model_defaults(name), **dict(args)}
    missing = [p for p in params if p not in merged]
    if missing:
        raise ConfigError(f"model {name!r} needs argument(s) {', '.join(missing)}; it takes: {accepted}")
    for arg in params:  # signature order: depth is checked before lam, which depends on it
        if arg in ARG_CHECKS:
            ARG_CHECKS[arg](merged[arg], args=merged, model=name)
    return merged


def build_model(name: str, in_channels: int = 3, num_classes: int = 10, **model_args):
    """The registered model ``name``, built after ``check_model_args`` has checked its arguments."""
    args = check_model_args(name, model_args)
    return MODELS[name](in_channels=in_channels, num_classes=num_classes, **args)
