"""RepVGG-A0/A1/A2 (Ding et al., 2021), adapted to 32x32 inputs, with structural reparameterization.

Stages have widths min(64, 64a), 64a, 128a, 256a, 512b and [1, 2, 4, 14, 1] blocks, with
(a, b) = (0.75, 2.5) for A0, (1, 2.5) for A1 and (1.5, 2.75) for A2. ``width_scale`` multiplies
every width, for narrower nets on small budgets.

Strides. ImageNet RepVGG downsamples by 2 in each of the five stages (224 -> 7). On 32x32 inputs
that would leave 1x1 maps, so stages 0 and 1 keep stride 1 and stages 2-4 use stride 2:
32 -> 32 -> 32 -> 16 -> 8 -> 4, the usual CIFAR adaptation.

Training uses the 3-branch block relu(BN(conv3x3 x) + BN(conv1x1 x) + BN(x)), the identity branch
present only where shapes allow. ``reparameterize()`` fuses each block into one 3x3 conv with bias
(Section 3.3 of the RepVGG paper): the net becomes a plain stack of conv3x3 -> ReLU, equal to the
multi-branch net in eval mode.
"""

import math

import torch
from torch import nn

from ..errors import ConfigError
from .registry import register_arg_check, register_model

VARIANTS = {"a0": (0.75, 2.5), "a1": (1.0, 2.5), "a2": (1.5, 2.75)}  # the model repvgg_<variant> for each
BLOCKS = (1, 2, 4, 14, 1)
STRIDES = (1, 1, 2, 2, 2)
MAX_STAGE_WIDTH = 4096  # channels, for any stage at any width_scale


def stage_widths(variant: str, width_scale: float = 1.0) -> list:
    """The channels of the five stages: min(64, 64a), 64a, 128a, 256a, 512b, times width_scale."""
    a, b = VARIANTS[variant]
    return [max(1, round(w * width_scale)) for w in (min(64, 64 * a), 64 * a, 128 * a, 256 * a, 512 * b)]


def check_width_scale_for(variant: str, width_scale) -> None:
    """width_scale must be a finite number > 0 that makes no stage wider than MAX_STAGE_WIDTH."""
    if isinstance(width_scale, bool) or not isinstance(width_scale, (int, float)) or not (
        math.isfinite(width_scale) and width_scale > 0
    ):
        raise ConfigError(f"width_scale must be a finite number > 0 (1.0 is the paper's width); got {width_scale!r}")
    widest = max(stage_widths(variant)) * width_scale  # unrounded: a huge width_scale must not overflow round()
    if widest > MAX_STAGE_WIDTH + 0.5:  # round(4096.5) == 4096
        top = math.floor(MAX_STAGE_WIDTH / max(stage_widths(variant)) * 1000) / 1000
        raise ConfigError(f"width_scale {width_scale!r} makes a RepVGG-{variant.upper()} stage {widest:.4g} channels "
                          f"wide, over the limit of {MAX_STAGE_WIDTH}; use a width_scale > 0 and <= {top}")


@register_arg_check("width_scale")
def check_width_scale(width_scale, *, model, **_):
    check_width_scale_for(model.removeprefix("repvgg_"), width_scale)  # models are named repvgg_<variant>


class ConvBN(nn.Sequential):
    def __init__(self, c_in, c_out, kernel_size, stride):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


def _fuse_bn(kernel: torch.Tensor, bn: nn.BatchNorm2d):
    """conv (no bias) followed by eval-mode BN == conv with kernel * gamma/sigma and a bias."""
    scale = bn.weight / (bn.running_var + bn.eps).sqrt()
    return kernel * scale.view(-1, 1, 1, 1), bn.bias - bn.running_mean * scale


class RepVGGBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.c_in, self.stride = c_in, stride
        self.conv3x3 = ConvBN(c_in, c_out, 3, stride)
        self.conv1x1 = ConvBN(c_in, c_out, 1, stride)
        self.identity = nn.BatchNorm2d(c_in) if (c_in == c_out and stride == 1) else None
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.conv3x3(x) + self.conv1x1(x)
        if self.identity is not None:
            out = out + self.identity(x)
        return self.relu(out)

    @torch.no_grad()
    def fused_conv(self) -> nn.Conv2d:
        """One 3x3 conv with bias equal to the three branches (BN in eval mode)."""
        k3, b3 = _fuse_bn(self.conv3x3[0].weight, self.conv3x3[1])
        k1, b1 = _fuse_bn(self.conv1x1[0].weight, self.conv1x1[1])
        kernel, bias = k3 + nn.functional.pad(k1, (1, 1, 1, 1)), b3 + b1
        if self.identity is not None:
            eye = torch.zeros_like(k3)
            eye[torch.arange(self.c_in), torch.arange(self.c_in), 1, 1] = 1.0
            ki, bi = _fuse_bn(eye, self.identity)
            kernel, bias = kernel + ki, bias + bi
        conv = nn.Conv2d(self.c_in, kernel.shape[0], 3, stride=self.stride, padding=1, bias=True)
        conv.weight.copy_(kernel)
        conv.bias.copy_(bias)
        return conv.to(kernel.device)


class RepVGG(nn.Module):
    def __init__(self, variant: str = "a2", width_scale: float = 1.0, in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        if variant not in VARIANTS:
            raise ConfigError(f"RepVGG variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
        check_width_scale_for(variant, width_scale)
        widths = stage_widths(variant, width_scale)
        self.variant, self.width_scale, self.widths = variant, width_scale, widths
        layers, c_in = [], in_channels
        for c_out, n_blocks, stride in zip(widths, BLOCKS, STRIDES):
            for i in range(n_blocks):
                layers.append(RepVGGBlock(c_in, c_out, stride if i == 0 else 1))
                c_in = c_out
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        return self.head(self.body(x).mean(dim=(2, 3)))

    @torch.no_grad()
    def reparameterize(self) -> "RepVGG":
        """Fuse every 3-branch block into conv3x3 -> ReLU, in place. Uses BN running statistics,
        so the fused net equals the multi-branch net in eval mode. Returns ``self``."""
        for i, block in enumerate(self.body):
            if isinstance(block, RepVGGBlock):
                self.body[i] = nn.Sequential(block.fused_conv(), nn.ReLU())
        return self

    @property
    def is_deployed(self) -> bool:
        return not any(isinstance(m, RepVGGBlock) for m in self.body)


@register_model
def repvgg_a0(width_scale: float = 1.0, in_channels: int = 3, num_classes: int = 10) -> RepVGG:
    """RepVGG-A0 (Ding et al., 2021, Section 3.4, Table 2: a = 0.75, b = 2.5), strides for 32x32 inputs."""
    return RepVGG("a0", width_scale, in_channels, num_classes)


@register_model
def repvgg_a1(width_scale: float = 1.0, in_channels: int = 3, num_classes: int = 10) -> RepVGG:
    """RepVGG-A1 (Ding et al., 2021, Section 3.4, Table 2: a = 1, b = 2.5), strides for 32x32 inputs."""
    return RepVGG("a1", width_scale, in_channels, num_classes)


@register_model
def repvgg_a2(width_scale: float = 1.0, in_channels: int = 3, num_classes: int = 10) -> RepVGG:
    """RepVGG-A2 (Ding et al., 2021, Section 3.4, Table 2: a = 1.5, b = 2.75), strides for 32x32 inputs."""
    return RepVGG("a2", width_scale, in_channels, num_classes)
