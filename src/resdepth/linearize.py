"""Post-training partial linearization (*ResNets Are Deeper Than You Think*, NeurIPS 2025).

Every ReLU of a trained net becomes a PReLU, phi_alpha(x) = x for x >= 0 and alpha * x otherwise,
with alpha starting at 0, so the function is unchanged. Post-training adds the penalty

    omega * sum |1 - alpha|^0.5

which pushes slopes to 1, where the unit is linear. The penalty's gradient is infinite at
alpha = 1, so a unit with |alpha - 1| < threshold (0.01) is frozen at exactly 1: it leaves the
penalty and gets no gradient from then on. ``granularity="channel"`` gives one alpha per channel
(variable depth); ``"layer"`` one alpha per layer (fixed depth). Slopes get no weight decay.
"""

import torch
from torch import nn

from .errors import ConfigError

GRANULARITIES = ("channel", "layer")


class LinearizablePReLU(nn.Module):
    """PReLU with slopes ``alpha`` (one per channel, or one in all) and a mask of frozen slopes."""

    def __init__(self, num_slopes: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(num_slopes))
        self.alpha.no_weight_decay = True
        self.register_buffer("frozen", torch.zeros(num_slopes, dtype=torch.bool))
        self.alpha.register_hook(lambda grad: grad.masked_fill(self.frozen, 0.0))

    def forward(self, x):
        alpha = self.alpha.view(1, -1, *([1] * (x.dim() - 2))) if self.alpha.numel() > 1 else self.alpha
        return torch.where(x >= 0, x, alpha.to(x.dtype) * x)

    def penalty(self) -> torch.Tensor:
        """sum over unfrozen slopes of |1 - alpha|^0.5."""
        return (1 - self.alpha[~self.frozen]).abs().sqrt().sum()

    @torch.no_grad()
    def freeze(self, threshold: float = 0.01) -> int:
        """Freeze every slope within ``threshold`` of 1 at exactly 1; return how many are frozen."""
        self.frozen |= (self.alpha - 1).abs() < threshold
        self.alpha[self.frozen] = 1.0
        return int(self.frozen.sum())


@torch.no_grad()
def to_prelu(model: nn.Module, example_input: torch.Tensor, granularity: str = "channel") -> nn.Module:
    """Replace every ``nn.ReLU`` of ``model`` by a ``LinearizablePReLU`` with slopes 0, in place.

    ``example_input`` (one batch) is run once to find each ReLU's channel count.
    """
    if granularity not in GRANULARITIES:
        raise ConfigError(f"granularity must be 'channel' or 'layer'; got {granularity!r}")
    channels, hooks = {}, []

    def record(name):
        def hook(module, inputs, output):  # returns None: the output is left as it is
            channels.setdefault(name, output.shape[1])
        return hook

    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            hooks.append(module.register_forward_hook(record(name)))
    was_training = model.training
    model.eval()
    model(example_input)
    model.train(was_training)
    for h in hooks:
        h.remove()
    for name, count in channels.items():
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        prelu = LinearizablePReLU(count if granularity == "channel" else 1)
        setattr(parent, child, prelu.to(example_input.device))
    return model


def prelus(model: nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, LinearizablePReLU)]


def l05_penalty(model: nn.Module) -> torch.Tensor:
    """sum over every unfrozen slope of the model of |1 - alpha|^0.5."""
    return sum((m.penalty() for m in prelus(model)), torch.zeros(()))


def freeze_linear_units(model: nn.Module, threshold: float = 0.01) -> int:
    """Apply the freeze rule to every PReLU; return the number of frozen (linear) units."""
    return sum(m.freeze(threshold) for m in prelus(model))
