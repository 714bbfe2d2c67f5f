"""The residual tower of *On residual network depth* (Dherin & Munn, 2025), Appendix A.

    f(x) = D(R(E(x))),   R = (1 + lam F_n) o ... o (1 + lam F_1)

- E, the encoder: the Flax ImageNet ResNet stem: 7x7 stride-2 conv (no bias), BatchNorm, ReLU,
  3x3 stride-2 max pool with Flax's ``'SAME'`` padding (``same_pad``: on a 16x16 map, 0 pixels
  before and 1 after). A 32x32 input becomes a ``width`` x 8 x 8 feature map. ``stem_pool =
  "symmetric"`` pads 1 pixel on both sides instead (PyTorch's ``padding=1``), which moves 69% of
  the pooled values: the book's first tower runs (before 2026-12-03) used it, and their stored
  records say so. The stem keeps its
  BatchNorm in every variant: "with/without BatchNorm" in the paper refers to the tower.
- R, the tower: ``depth`` = n blocks x -> x + lam * F_i(x) at constant width and stride 1, with
  F = conv3x3 -> act -> conv3x3 and no activation after the add (A.1, "we remove the final ReLU").
  With ``batchnorm=True``, F = BN(conv(act(BN(conv(x))))).
- D, the decoder: global average pool, then a linear layer.

Initialisation follows Flax (``flax_init_``): LeCun-normal kernels (truncated normal, variance
1/fan_in) and zero biases. PyTorch's default (Kaiming-uniform with a=sqrt(5), variance
1/(3 fan_in)) gives branches a third of the variance, which is enough to move where lam = 1
without BN blows up, so the paper's divergence results depend on using this init.

``encoder``, ``blocks[i]`` (the branch F_i, without the skip) and ``decoder`` are separate
modules so that the expansion code can evaluate M0, M1 and M2 of Theorem 3.1 from them.

The registered model is the constructor ``tower`` at the end of this file. The checks of its
arguments (``check_depth`` ...) are registered for ``check_model_args`` and also run when
``ResidualTower`` is built directly, as the expansion code does.
"""

import math
import re

import torch
from torch import nn

from ..errors import ConfigError
from .activations import ACTIVATIONS
from .init import flax_init_
from .registry import register_arg_check, register_model

MAX_DEPTH = 100_000  # residual blocks
MAX_WIDTH = 16_384  # channels
LAM_RULES = {"1": lambda n: 1.0, "1/n": lambda n: 1.0 / n, "1/sqrt(n)": lambda n: 1.0 / math.sqrt(n)}
_POWER_RULE = re.compile(r"^n\^(-?\d+(?:\.\d+)?)$")  # "n^-1.5" means n ** -1.5


FLOAT32_MAX = float(torch.finfo(torch.float32).max)  # the largest λ a float32 branch scale can hold


def resolve_lam(lam, depth: int) -> float:
    """The branch scale lambda as a number: a float, or one of "1", "1/n", "1/sqrt(n)", "n^p"."""
    if isinstance(lam, str):
        rule = lam.replace(" ", "")
        if rule in LAM_RULES:
            value = LAM_RULES[rule](depth)
        elif _POWER_RULE.match(rule):
            try:
                value = depth ** float(_POWER_RULE.match(rule).group(1))
            except OverflowError:
                value = math.inf  # refused below, in one line
        else:
            try:
                value = float(rule)
            except ValueError:
                raise ConfigError(
                    f"lam must be a number >= 0 or one of '1', '1/n', '1/sqrt(n)', 'n^p' (e.g. 'n^-1.5'); got {lam!r}"
                ) from None
    elif isinstance(lam, (int, float)) and not isinstance(lam, bool):
        value = float(lam)
    else:
        raise ConfigError(f"lam must be a float or a rule string such as '1/sqrt(n)'; got {lam!r}")
    if not math.isfinite(value) or value < 0 or value > FLOAT32_MAX:
        raise ConfigError(f"lam must be finite and >= 0 (at most {FLOAT32_MAX:.3g}, a float32); got {lam!r}, which "
                          f"gives {value:.3g} at depth {depth}")
    return value


# Checks of the tower's arguments, for ``check_model_args`` (any model with an argument of that
# name) and for ``ResidualTower`` built directly. Each raises a one-line ConfigError.


@register_arg_check("depth")
def check_depth(depth, **_):
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= MAX_DEPTH:
        raise ConfigError(
            f"depth must be an integer >= 1 and <= {MAX_DEPTH} (the number of residual blocks); got {depth!r}"
        )


@register_arg_check("width")
def check_width(width, **_):
    if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= MAX_WIDTH:
        raise ConfigError(f"width must be an integer >= 1 and <= {MAX_WIDTH} (channels); got {width!r}")


@register_arg_check("lam")
def check_lam(lam, *, args, **_):
    resolve_lam(lam, args.get("depth", 1))


@register_arg_check("batchnorm")
def check_batchnorm(batchnorm, **_):
    if not isinstance(batchnorm, bool):
        raise ConfigError(f"batchnorm must be true or false (a bool, not a string or number); got {batchnorm!r}")


@register_arg_check("activation")
def check_activation(activation, **_):
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")


STEM_POOLS = ("same", "symmetric")


@register_arg_check("stem_pool")
def check_stem_pool(stem_pool, **_):
    if stem_pool not in STEM_POOLS:
        raise ConfigError(f"stem_pool must be 'same' (Flax, the paper's model) or 'symmetric' (the book's "
                          f"runs before 2026-12-03); got {stem_pool!r}")


def same_pad(size: int, kernel: int, stride: int) -> tuple:
    """(before, after): the padding of Flax/TensorFlow 'SAME' along one axis of ``size`` pixels.

    The output has ceil(size / stride) pixels; the padding needed for it,
    max((out - 1) * stride + kernel - size, 0), is split with the smaller half before.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def same_max_pool2d(x, kernel: int, stride: int):
    """Max pool with Flax's 'SAME' padding (``same_pad`` per axis; padded pixels are -inf, so they
    never win). Traced by torch.fx as one call (``torch.fx.wrap``): its padding depends on the shape."""
    top, bottom = same_pad(x.shape[-2], kernel, stride)
    left, right = same_pad(x.shape[-1], kernel, stride)
    x = nn.functional.pad(x, (left, right, top, bottom), value=-math.inf)
    return nn.functional.max_pool2d(x, kernel, stride)


torch.fx.wrap("same_max_pool2d")


class SameMaxPool2d(nn.Module):
    """``same_max_pool2d`` as a module: Flax's ``nn.max_pool(..., padding='SAME')``."""

    def __init__(self, kernel: int, stride: int):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x):
        return same_max_pool2d(x, self.kernel, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel}, stride={self.stride}, padding='SAME'"


class FlaxStem(nn.Sequential):
    """E: conv7x7/2 (no bias) -> BN -> ReLU -> maxpool3x3/2, with the pool's padding 'SAME' as in
    Flax (``stem_pool="same"``) or 1 pixel on every side (``"symmetric"``, the book's first runs)."""

    def __init__(self, in_channels: int, width: int, stem_pool: str = "same"):
        check_stem_pool(stem_pool)
        pool = SameMaxPool2d(3, 2) if stem_pool == "same" else nn.MaxPool2d(3, stride=2, padding=1)
        super().__init__(
            nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            pool,
        )


class ResidualBranch(nn.Sequential):
    """F_i: conv3x3 -> act -> conv3x3, or BN(conv(act(BN(conv(x))))) with ``batchnorm``."""

    def __init__(self, width: int, batchnorm: bool = False, activation: str = "relu"):
        bias = not batchnorm  # a conv followed by BN needs no bias
        layers = [nn.Conv2d(width, width, 3, padding=1, bias=bias)]
        layers += [nn.BatchNorm2d(width)] if batchnorm else []
        layers += [ACTIVATIONS[activation](), nn.Conv2d(width, width, 3, padding=1, bias=bias)]
        layers += [nn.BatchNorm2d(width)] if batchnorm else []
        super().__init__(*layers)


class Decoder(nn.Module):
    """D: global average pool -> linear. ``linear_part`` is W_eta (with the pool), no bias."""

    def __init__(self, width: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(width, num_classes)

    def forward(self, z):
        return self.fc(z.mean(dim=(2, 3)))

    def linear_part(self, z):
        return self.fc(z.mean(dim=(2, 3))) - self.fc.bias


class ResidualTower(nn.Module):
    # per-run scalar -> the attribute giving the channels it scales: what ``resdepth.stack`` makes
    # a per-channel tensor when it trains several towers as one grouped net
    STACKED_SCALARS = {"lam": "width"}

    def __init__(
        self,
        depth: int,
        width: int = 256,
        lam="1/sqrt(n)",
        batchnorm: bool = False,
        activation: str = "relu",
        in_channels: int = 3,
        num_classes: int = 10,
        stem_pool: str = "same",
    ):
        super().__init__()
        for check, value in ((check_depth, depth), (check_width, width), (check_batchnorm, batchnorm),
                             (check_activation, activation)):
            check(value)  # the checks of check_model_args, for towers built directly
        self.depth, self.width, self.batchnorm, self.activation = depth, width, batchnorm, activation
        self.lam = resolve_lam(lam, depth)
        self.stem_pool = stem_pool
        self.encoder = FlaxStem(in_channels, width, stem_pool)
        self.blocks = nn.ModuleList(ResidualBranch(width, batchnorm, activation) for _ in range(depth))
        self.decoder = Decoder(width, num_classes)
        flax_init_(self)

    def tower(self, z):
        """R(z): apply the n blocks z <- z + lam * F_i(z)."""
        for branch in self.blocks:
            update = branch(z)
            lam = self.lam.to(update.dtype) if torch.is_tensor(self.lam) else self.lam  # a tensor when stacked
            z = z + lam * update
        return z

    def forward(self, x):
        return self.decoder(self.tower(self.encoder(x)))

    def extra_repr(self):
        lam = f"{self.lam:.6g}" if isinstance(self.lam, float) else "per run"
        return f"depth={self.depth}, width={self.width}, lam={lam}, batchnorm={self.batchnorm}"


@register_model
def tower(
    depth: int,
    width: int = 256,
    lam="1/sqrt(n)",
    batchnorm: bool = False,
    activation: str = "relu",
    stem_pool: str = "same",
    in_channels: int = 3,
    num_classes: int = 10,
) -> ResidualTower:
    """The residual tower of Dherin & Munn (2025), Appendix A: stem, ``depth`` blocks x + lam F(x), linear head."""
    return ResidualTower(depth, width, lam, batchnorm, activation, in_channels, num_classes, stem_pool)
