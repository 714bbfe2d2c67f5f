"""Materialize a layer-wise-linearized plain net as the shallower net it has become.

After layer-wise linearization, a deployed RepVGG is a chain conv3x3 -> phi -> conv3x3 -> phi ...
in which some phi are the identity (slope frozen at 1). Each run of convolutions with no
nonlinearity between them is one affine map, and two convolutions compose into one with a larger
kernel. For c1 (kernel k1, stride s1, padding p1, bias b1) followed by c2 (k2, s2, p2, b2):

    k = k1 + (k2 - 1) s1,   s = s1 s2,   p = p1 + p2 s1,
    K[o, i, u s1 + a, v s1 + b] = sum_m K2[o, m, u, v] K1[m, i, a, b],
    b = b2 + sum_{u, v} K2[:, :, u, v] b1.

The composition is exact wherever c2 reads no zero padding of c1's output. At the border the
unfused chain pads each intermediate map with zeros, while the fused kernel reads c1's affine
response to the padded input there; a single zero-padded convolution cannot express that
difference. So the fused net equals the unfused one on every output pixel whose receptive field
stays inside the image (``interior_margin``), and differs in a rim (measured in the book).

A linear tail (the convolutions after the last nonlinear layer) is fused into one conv T (kernel
K, bias b) and then folded into the head, a Linear (W, h) read after the global average pool.
The pool is a mean over pixels and W acts on each pixel alike, so

    W mean_pixels(T z) + h = mean_pixels(W T z + h),

i.e. T and the head are one conv with num_classes output channels, kernel
K'[n, i, u, v] = sum_o W[n, o] K[o, i, u, v] and bias W b + h, then the pool and no Linear
(``fold_into_head``). This step is exact everywhere: no zero padding sits between T and W. So the
merged net has one weight layer per nonlinear layer plus one, NAPL + 1 after layer-wise
linearization.
"""

import copy

import torch
from torch import nn

from .linearize import LinearizablePReLU, share_slopes


def is_linear(activation: nn.Module) -> bool:
    """True for the identity and for a PReLU whose every unit is linear (``linear_units``: frozen,
    or slope exactly 1), the definition the NAPL reads too."""
    if isinstance(activation, nn.Identity):
        return True
    return isinstance(activation, LinearizablePReLU) and bool(activation.linear_units().all())


@torch.no_grad()
def compose_convs(c1: nn.Conv2d, c2: nn.Conv2d) -> nn.Conv2d:
    """One convolution equal to c2(c1(x)) away from the border (module docstring)."""
    for c in (c1, c2):
        if c.groups != 1 or c.dilation != (1, 1) or c.padding_mode != "zeros" or isinstance(c.padding, str):
            raise ValueError("compose_convs handles dense, undilated, zero-padded convolutions only")
    (k1, _), (s1, _), (p1, _) = c1.kernel_size, c1.stride, c1.padding
    (k2, _), (s2, _), (p2, _) = c2.kernel_size, c2.stride, c2.padding
    w1, w2 = c1.weight, c2.weight
    b1 = c1.bias if c1.bias is not None else w1.new_zeros(w1.shape[0])
    b2 = c2.bias if c2.bias is not None else w2.new_zeros(w2.shape[0])
    k = k1 + (k2 - 1) * s1
    kernel = w1.new_zeros(w2.shape[0], w1.shape[1], k, k)
    for u in range(k2):
        for v in range(k2):
            kernel[:, :, u * s1: u * s1 + k1, v * s1: v * s1 + k1] += torch.einsum("om,mikl->oikl", w2[:, :, u, v], w1)
    bias = b2 + w2.sum(dim=(2, 3)) @ b1
    fused = nn.Conv2d(w1.shape[1], w2.shape[0], k, stride=s1 * s2, padding=p1 + p2 * s1, bias=True)
    fused.weight.copy_(kernel)
    fused.bias.copy_(bias)
    return fused.to(w1.device)


def interior_margin(convs) -> int:
    """Output pixels this many positions from the border are exact after fusing ``convs``: the
    fused padding, in units of the fused stride, rounded up."""
    padding, stride = 0, 1
    for c in convs:
        padding += c.padding[0] * stride
        stride *= c.stride[0]
    return -(-padding // stride)


@torch.no_grad()
def merge_linear_layers(model: nn.Module) -> nn.Module:
    """A copy of a deployed plain net (``model.body`` a chain of (conv, activation) pairs and
    ``model.head`` a Linear after a global average pool, as ``RepVGG.reparameterize()`` makes) with
    every run of convolutions joined by linear activations fused into one convolution, and a linear
    tail folded into the head (the copy's head is then the identity and its body ends in the
    logits per pixel). The copy computes the same function as ``model`` away from the image border
    (module docstring); ``model`` is left unchanged. Its ``weight_layers`` is the number of
    nonlinear layers + 1."""
    pairs = []
    for block in model.body:
        if not (isinstance(block, nn.Sequential) and len(block) == 2 and isinstance(block[0], nn.Conv2d)):
            raise ValueError("merge_linear_layers needs a deployed plain net: call reparameterize() first")
        pairs.append((block[0], block[1]))
    body, run = [], []
    for conv, act in pairs:
        run.append(conv)
        if not is_linear(act):
            body.append(nn.Sequential(_fuse(run), copy.deepcopy(act)))
            run = []
    merged = copy.deepcopy(model)
    if run:  # a linear tail before the pooling: fused, and folded into the head (module docstring)
        body.append(nn.Sequential(fold_into_head(_fuse(run), model.head), nn.Identity()))
        merged.head = nn.Identity()
    merged.body = nn.Sequential(*body)
    share_slopes(merged)  # one flat slope tensor again, without the slopes of the merged-away PReLUs
    return merged


@torch.no_grad()
def fold_into_head(conv: nn.Conv2d, head: nn.Module) -> nn.Conv2d:
    """One conv equal to ``head`` applied at every pixel of ``conv``'s output: kernel
    W K (contracted over conv's output channels), bias W b + h. Global average pooling commutes
    with it, so pool(result) == head(pool(conv(x))) exactly (module docstring)."""
    if not isinstance(head, nn.Linear) or head.in_features != conv.out_channels:
        raise ValueError(f"merge_linear_layers folds a linear tail into the head: the net needs head = "
                         f"nn.Linear({conv.out_channels}, num_classes) read after a global average pool, as "
                         f"RepVGG has; got {head!r}")
    bias = conv.bias if conv.bias is not None else conv.weight.new_zeros(conv.out_channels)
    folded = nn.Conv2d(conv.in_channels, head.out_features, conv.kernel_size, stride=conv.stride,
                       padding=conv.padding, bias=True)
    folded.weight.copy_(torch.einsum("no,oikl->nikl", head.weight, conv.weight))
    folded.bias.copy_(head.weight @ bias + (head.bias if head.bias is not None else 0))
    return folded.to(conv.weight.device)


def _fuse(convs: list) -> nn.Conv2d:
    fused = copy.deepcopy(convs[0])
    for c in convs[1:]:
        fused = compose_convs(fused, c)
    return fused


def weight_layers(model: nn.Module) -> int:
    """Depth as the number of convolutions and linear layers."""
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
