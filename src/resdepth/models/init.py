"""Weight initializers that match the Flax reference implementations."""

import math

import torch
from torch import nn

# Flax's lecun_normal is variance_scaling(1, "fan_in", "truncated_normal"): a normal truncated at
# two standard deviations, rescaled by this constant so that the variance stays 1 / fan_in.
TRUNCATED_NORMAL_STD_CORRECTION = 0.87962566103423978


@torch.no_grad()
def lecun_normal_(weight: torch.Tensor) -> torch.Tensor:
    """Flax's default kernel init: truncated normal with variance 1/fan_in.

    fan_in = in_channels * kernel_height * kernel_width for a conv, in_features for a linear layer.
    """
    fan_in = weight[0].numel()
    std = math.sqrt(1.0 / fan_in) / TRUNCATED_NORMAL_STD_CORRECTION
    return nn.init.trunc_normal_(weight, mean=0.0, std=std, a=-2 * std, b=2 * std)


def flax_init_(module: nn.Module) -> None:
    """Initialise every conv and linear layer as Flax does: LeCun-normal kernels, zero biases;
    norm layers start at scale 1 and offset 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            lecun_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
