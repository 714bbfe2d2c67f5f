"""Model zoo. ``build_model(name, in_channels, num_classes, **model_args)`` builds any of them."""

import inspect

from ..errors import ConfigError
from .cifar_resnet import CifarResNet, plain20, plain56, resnet20, resnet56
from .repvgg import RepVGG, repvgg_a0, repvgg_a1, repvgg_a2
from .tower import ResidualTower, resolve_lam

MODELS = {
    "tower": ResidualTower,
    "resnet56": resnet56,
    "plain56": plain56,
    "resnet20": resnet20,
    "plain20": plain20,
    "repvgg_a0": repvgg_a0,
    "repvgg_a1": repvgg_a1,
    "repvgg_a2": repvgg_a2,
}


def model_arg_names(name: str) -> list:
    """The keyword arguments a model accepts, beyond in_channels and num_classes."""
    params = inspect.signature(MODELS[name]).parameters
    return [p for p in params if p not in ("in_channels", "num_classes")]


def model_defaults(name: str) -> dict:
    """The model's keyword arguments that have defaults, with those defaults."""
    params = inspect.signature(MODELS[name]).parameters
    return {p: v.default for p, v in params.items()
            if p not in ("in_channels", "num_classes") and v.default is not inspect.Parameter.empty}


def build_model(name: str, in_channels: int = 3, num_classes: int = 10, **model_args):
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    unknown = set(model_args) - set(model_arg_names(name))
    if unknown:
        raise ConfigError(
            f"model {name!r} takes no argument(s) {', '.join(sorted(unknown))}; it takes: {', '.join(model_arg_names(name)) or 'none'}"
        )
    return MODELS[name](in_channels=in_channels, num_classes=num_classes, **model_args)


__all__ = ["MODELS", "build_model", "model_arg_names", "model_defaults", "ResidualTower", "resolve_lam", "CifarResNet",
           "resnet56", "plain56", "resnet20", "plain20", "RepVGG", "repvgg_a0", "repvgg_a1", "repvgg_a2"]
