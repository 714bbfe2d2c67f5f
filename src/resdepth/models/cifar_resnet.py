"""CIFAR ResNet-56 (He et al., 2016, Section 4.2) and plain-56, the same net without shortcuts;
ResNet-20 and plain-20 (3 blocks per stage) for small budgets.

Three stages of 9 basic blocks at 16, 32 and 64 channels (6*9 + 2 = 56 weight layers). Shortcuts
are option A: identity, or, where the shape changes, stride-2 subsampling with zero-padded
channels, so the shortcut adds no parameters. Every ReLU is its own ``nn.ReLU`` module so that
``resdepth.linearize`` can find and replace each one.
"""

import torch.nn.functional as F
from torch import nn

from .registry import register_model


class OptionAShortcut(nn.Module):
    """x -> x[:, :, ::2, ::2], zero-padded from c_in to c_out channels."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        if c_out < c_in or (c_out - c_in) % 2:
            raise ValueError(f"an option-A shortcut pads channels evenly on both sides: c_out must be c_in plus an "
                             f"even number >= 0; got c_in {c_in}, c_out {c_out}")
        self.c_in, self.c_out = c_in, c_out
        self.pad = (c_out - c_in) // 2

    def covered_fraction(self) -> float:
        """c_in / c_out: the share of the output channels that carry the input (a centred block);
        the others are zero padding. ``resdepth.pathlength`` splits the walk at an add by it."""
        return self.c_in / self.c_out

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    """relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)); without shortcut when ``residual=False``."""

    def __init__(self, c_in: int, c_out: int, stride: int, residual: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu2 = nn.ReLU()
        self.residual = residual
        self.shortcut = OptionAShortcut(c_in, c_out) if (stride != 1 or c_in != c_out) else nn.Identity()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        if self.residual:
            out = out + self.shortcut(x)
        return self.relu2(out)


class CifarResNet(nn.Module):
    def __init__(self, depth: int = 56, residual: bool = True, in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        assert (depth - 2) % 6 == 0, "CIFAR ResNet depth is 6k + 2"
        blocks_per_stage = (depth - 2) // 6
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        layers, c_in = [], 16
        for stage, c_out in enumerate((16, 32, 64)):
            for i in range(blocks_per_stage):
                stride = 2 if (stage > 0 and i == 0) else 1
                layers.append(BasicBlock(c_in, c_out, stride, residual))
                c_in = c_out
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.head(self.stages(self.stem(x)).mean(dim=(2, 3)))


@register_model
def resnet56(in_channels: int = 3, num_classes: int = 10) -> CifarResNet:
    """CIFAR ResNet-56 (He et al., 2016, Section 4.2): 3 stages x 9 basic blocks, option-A shortcuts."""
    return CifarResNet(56, residual=True, in_channels=in_channels, num_classes=num_classes)


@register_model
def plain56(in_channels: int = 3, num_classes: int = 10) -> CifarResNet:
    """Plain-56 (He et al., 2016, Section 4.2): ResNet-56 without its shortcuts."""
    return CifarResNet(56, residual=False, in_channels=in_channels, num_classes=num_classes)


@register_model
def resnet20(in_channels: int = 3, num_classes: int = 10) -> CifarResNet:
    """CIFAR ResNet-20 (He et al., 2016, Section 4.2): 3 stages x 3 basic blocks, option-A shortcuts."""
    return CifarResNet(20, residual=True, in_channels=in_channels, num_classes=num_classes)


@register_model
def plain20(in_channels: int = 3, num_classes: int = 10) -> CifarResNet:
    """Plain-20 (He et al., 2016, Section 4.2): ResNet-20 without its shortcuts."""
    return CifarResNet(20, residual=False, in_channels=in_channels, num_classes=num_classes)
