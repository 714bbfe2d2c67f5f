"""Model zoo with a timm-style registry: each model is one constructor function decorated with
``@register_model`` (``registry.py``), and ``build_model(name, in_channels, num_classes,
**model_args)`` builds any of them after ``check_model_args`` has checked the arguments.

    tower       the residual tower of Dherin & Munn (2025), Appendix A        (tower.py)
    resnet56    CIFAR ResNet-56 of He et al. (2016), Section 4.2              (cifar_resnet.py)
    plain56     ResNet-56 without shortcuts
    resnet20    CIFAR ResNet-20
    plain20     ResNet-20 without shortcuts
    repvgg_a0   RepVGG-A0/A1/A2 of Ding et al. (2021), for 32x32 inputs      (repvgg.py)
    repvgg_a1
    repvgg_a2

To add a model, write one decorated function in one file of this package (see ``registry.py``);
a new file must be imported below, where the import order is the registration order.
"""

from .activations import ACTIVATIONS
from .registry import (
    MODELS,
    build_model,
    check_model_args,
    list_models,
    model_arg_names,
    model_defaults,
    register_model,
)

# Registration order: tower, resnet56, plain56, resnet20, plain20, repvgg_a0, repvgg_a1, repvgg_a2.
# The tower's constructor is not re-exported here: ``resdepth.models.tower`` stays the module
# (``MODELS["tower"]`` or ``resdepth.models.tower.tower`` is the function).
from .tower import ResidualTower, resolve_lam  # noqa: E402, I001
from .cifar_resnet import CifarResNet, plain20, plain56, resnet20, resnet56  # noqa: E402
from .repvgg import RepVGG, repvgg_a0, repvgg_a1, repvgg_a2  # noqa: E402

__all__ = ["MODELS", "list_models", "build_model", "check_model_args", "model_arg_names", "model_defaults",
           "register_model", "ACTIVATIONS", "resolve_lam", "ResidualTower", "CifarResNet", "RepVGG",
           "resnet56", "plain56", "resnet20", "plain20", "repvgg_a0", "repvgg_a1", "repvgg_a2"]
