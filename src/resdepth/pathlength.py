"""Path lengths through a network: NAPL and its distribution, read off the module graph.

A path's length is the number of nonlinear units it meets from input to output. Following
*Nonlinear Advantage* (Mehmeti-Göpel & Disselhoff, 2022), on which *ResNets Are Deeper Than You
Think* builds, take a random walk from the output back to the input at the level of neurons
(channels): the walk sits on a uniformly chosen channel of each tensor. At a residual add it
splits evenly among the summands that carry a path from the input *at that channel*: 1/2 to the
skip and 1/2 to the branch of an identity add (1/k for k summands). An option-A shortcut
(``OptionAShortcut``: stride-2 subsampling, zero-padded from c_in to c_out channels) fills only a
fraction c = c_in / c_out of its channels; the zero channels carry no path, so at the add of a full
branch and such a skip the skip gets c/2 and the branch 1 - c/2. At an activation layer whose
fraction of nonlinear units is p_l, the walk meets a nonlinear unit with probability p_l. The
normalized average path length is

    NAPL = E[number of nonlinear units met].

On a plain chain NAPL = sum_l p_l; after layer-wise linearization it is the number of layers left
nonlinear, i.e. the remaining depth minus one. A fully nonlinear CIFAR ResNet-56 has
NAPL = 1 + 9 * 1.5 + 2 * (1.75 + 8 * 1.5) = 42 (stem; stage 1; stages 2 and 3, whose first block has
an option-A skip with c = 1/2), ResNet-20 1 + 3 * 1.5 + 2 * (1.75 + 2 * 1.5) = 15.

The distribution treats each activation layer as independently nonlinear: at each one the walk
draws "nonlinear" with probability p_l afresh. The mean is exact (linearity of expectation), the
distribution is not exact where an identity skip carries the same channel between two partially
linearized (channel-wise) activations, whose nonlinear units at that channel are fixed, not
independent draws. Against the exact per-channel walk (tests/test_pathlength.py) the difference is
small: total variation 0 when every layer is wholly nonlinear or wholly linear (layer-wise), and
with channels frozen at random (each with probability 0.2, 0.5 or 0.8, 5 seeds) at most 0.009 on
ResNet-56 and 0.013 on ResNet-20 (the independent check reported <= 0.004 on ResNet-56 for its
masks).

No per-architecture formula is used: the graph is traced with ``torch.fx`` and, node by node,
forwards, each tensor gets its distribution and its coverage, the fraction of its channels
(dimension 1) that carry a path from the input:

- input: all mass at length 0, coverage 1;
- activation (ReLU, GELU, tanh, as modules or functions: p = 1; a ``LinearizablePReLU``: p = its nonlinear fraction):
  the distribution convolved with Bernoulli(p), coverage unchanged;
- an option-A shortcut (a leaf of the trace): distribution unchanged, coverage times c_in / c_out;
- a convolution or linear layer: distribution unchanged, coverage 1 (it mixes every channel);
- a sum of k tensors that depend on the input: the mixture of their distributions, weighted by
  ``split_weights`` of their coverages; coverage the largest of theirs;
- any other op with one such tensor (BN, pooling, padding, slicing, scaling): both unchanged.

The covered channels of an option-A skip are a centred block (the zero padding is symmetric), so
the covered channels of any two tensors are nested, and ``split_weights`` is exact for them.
"""

import math
import operator

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from .linearize import LinearizablePReLU
from .models.cifar_resnet import OptionAShortcut

ACTIVATION_TYPES = (nn.ReLU, nn.GELU, nn.Tanh, LinearizablePReLU)
ACTIVATION_FUNCTIONS = {torch.relu, F.relu, F.gelu, torch.tanh, F.tanh, "relu", "relu_", "tanh"}
SUMS = {operator.add, operator.iadd, torch.add, "add", "add_"}
CHANNEL_MIXING_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
CHANNEL_MIXING_FUNCTIONS = {F.conv1d, F.conv2d, F.conv3d, F.linear, torch.conv1d, torch.conv2d, torch.conv3d}


class _ActivationsAsLeaves(fx.Tracer):
    def is_leaf_module(self, m, qualname):
        return isinstance(m, ACTIVATION_TYPES + (OptionAShortcut,)) or super().is_leaf_module(m, qualname)


def _nonlinear_fraction(module: nn.Module) -> float:
    return module.nonlinear_fraction() if isinstance(module, LinearizablePReLU) else 1.0


def _mixture(dists: list, weights) -> np.ndarray:
    out = np.zeros(max(len(d) for d in dists))
    for d, w in zip(dists, weights):
        out[: len(d)] += w * d
    return out


def split_weights(coverages) -> np.ndarray:
    """The share of the walk each summand of an add gets, from the summands' coverages c_i.

    The walk sits on a uniform channel among those that carry a path (a fraction max_i c_i of the
    sum's channels) and splits evenly among the summands covering it. The covered channels are
    taken nested (centred blocks, as option-A zero padding leaves them): with the distinct
    coverages sorted, 0 = e_0 < e_1 < ... , the band (e_{j-1}, e_j] is covered by the n_j summands
    with c_i >= e_j, so

        w_i = sum_{j: e_j <= c_i} (e_j - e_{j-1}) / n_j / max_i c_i.

    Equal coverages give 1/k each; a full branch and a skip covering c give 1 - c/2 and c/2.
    """
    coverages = np.asarray(coverages, dtype=float)
    weights, below = np.zeros(len(coverages)), 0.0
    for edge in np.unique(coverages):
        covering = coverages >= edge
        weights[covering] += (edge - below) / covering.sum()
        below = edge
    return weights / coverages.max()


def _mixes_channels(node: fx.Node, modules: dict) -> bool:
    if node.op == "call_module":
        return isinstance(modules[node.target], CHANNEL_MIXING_TYPES)
    return node.op == "call_function" and node.target in CHANNEL_MIXING_FUNCTIONS


def _bernoulli_step(dist: np.ndarray, p: float) -> np.ndarray:
    out = np.zeros(len(dist) + 1)
    out[:-1] += (1 - p) * dist
    out[1:] += p * dist
    return out


def chain_distribution(fractions) -> np.ndarray:
    """The path-length distribution of a chain of activation layers with nonlinear fractions
    ``fractions``: the Poisson-binomial, what ``path_length_distribution`` gives on a plain net."""
    dist = np.array([1.0])
    for p in fractions:
        dist = _bernoulli_step(dist, p)
    return dist


def path_length_distribution(model: nn.Module, fractions: dict | None = None) -> np.ndarray:
    """P(length = k) for k = 0, 1, ..., as a float64 array that sums to 1.

    ``fractions`` ({activation module name: p}) overrides the model's own nonlinear fractions, so
    the distribution of a stored run can be computed on a freshly built net of the same shape.
    """
    fractions = fractions or {}
    graph = _ActivationsAsLeaves().trace(model)
    modules = dict(model.named_modules())
    dists, coverage = {}, {}  # per node: its path-length distribution, the fraction of channels with a path
    for node in graph.nodes:
        if node.op == "placeholder":
            dists[node], coverage[node] = np.array([1.0]), 1.0
            continue
        if node.op == "output":
            (result,) = [d for d in (dists.get(a) for a in node.all_input_nodes) if d is not None]
            return result
        sources = [a for a in node.all_input_nodes if a in dists]
        if not sources:
            continue  # a constant or a parameter: no path from the input runs through it
        inputs = [dists[a] for a in sources]
        coverage[node] = coverage[sources[0]]
        module = modules.get(node.target) if node.op == "call_module" else None
        if isinstance(module, ACTIVATION_TYPES):
            p = fractions.get(node.target, _nonlinear_fraction(module))
            dists[node] = _bernoulli_step(inputs[0], p)
        elif node.op in ("call_function", "call_method") and node.target in ACTIVATION_FUNCTIONS:
            dists[node] = _bernoulli_step(inputs[0], 1.0)
        elif isinstance(module, OptionAShortcut):
            dists[node] = inputs[0]
            coverage[node] *= module.covered_fraction()
        elif len(inputs) == 1:
            dists[node] = inputs[0]
            if _mixes_channels(node, modules):
                coverage[node] = 1.0
        elif node.target in SUMS:
            covs = [coverage[a] for a in sources]
            dists[node], coverage[node] = _mixture(inputs, split_weights(covs)), max(covs)
        else:
            raise ValueError(f"path lengths: cannot split a path at {node.op} {node.target!r} "
                             f"with {len(inputs)} inputs; only sums are junctions")
    raise ValueError("path lengths: the traced graph has no output")


def mean_length(dist: np.ndarray) -> float:
    return float(np.dot(np.arange(len(dist)), dist))


def napl(model: nn.Module, fractions: dict | None = None) -> float:
    """The normalized average path length: the mean of ``path_length_distribution``."""
    return mean_length(path_length_distribution(model, fractions))


def binomial_like(dist: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Binomial(L, m / L) with the same mean m and length L (the longest path with mass) as ``dist``:
    what an ensemble of L independent layers, each nonlinear with probability m / L, would give."""
    support = np.nonzero(dist > tol)[0]
    length = int(support[-1]) if len(support) else 0
    m = mean_length(dist)
    if length == 0:
        return np.array([1.0])
    p = min(1.0, m / length)
    return np.array([math.comb(length, k) * p**k * (1 - p) ** (length - k) for k in range(length + 1)])


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """0.5 * sum |p - q|, the arrays zero-padded to the same length."""
    n = max(len(p), len(q))
    return 0.5 * float(np.abs(np.pad(p, (0, n - len(p))) - np.pad(q, (0, n - len(q)))).sum())


def tower_order_mix(depth: int, lam: float, stem_units: int = 1) -> np.ndarray:
    """The residual tower's paths weighted as in the Residual Expansion Theorem.

    f = sum_k lam^k M_k, and M_k sums the C(n, k) paths through k of the n branches. If every path
    counted the same, order k would carry C(n, k) lam^k / (1 + lam)^n of the function:
    Binomial(n, lam / (1 + lam)). Each branch holds one activation and the stem ``stem_units``, so
    this is also a distribution of nonlinear units per path, comparable with
    ``path_length_distribution`` (which splits 1/2 at every add, whatever lam is).
    """
    p = lam / (1 + lam)
    orders = np.array([math.comb(depth, k) * p**k * (1 - p) ** (depth - k) for k in range(depth + 1)])
    return np.concatenate([np.zeros(stem_units), orders])
