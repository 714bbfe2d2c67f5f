"""Path lengths through a network: NAPL and its distribution, read off the module graph.

A path's length is the number of nonlinear units it meets from input to output. Following
*Nonlinear Advantage* (Mehmeti-Göpel & Disselhoff, 2022), on which *ResNets Are Deeper Than You
Think* builds, take a random walk from the output back to the input that splits evenly at every
junction: 1/2 to the skip and 1/2 to the branch of a residual add (1/k for k summands). At an
activation layer whose fraction of nonlinear units is p_l, the walk meets a nonlinear unit with
probability p_l (it picks a channel uniformly). The normalized average path length is

    NAPL = E[number of nonlinear units met].

On a plain chain NAPL = sum_l p_l; after layer-wise linearization it is the number of layers left
nonlinear, i.e. the remaining depth minus one. No per-architecture formula is used: the graph is
traced with ``torch.fx`` and the distribution propagated node by node, forwards:

- input: all mass at length 0;
- activation (ReLU, GELU, tanh, as modules or functions: p = 1; a ``LinearizablePReLU``: p = its nonlinear fraction):
  the distribution convolved with Bernoulli(p);
- a sum of k tensors that depend on the input: the mixture of their distributions, weight 1/k;
- any other op with one such tensor (conv, BN, pooling, padding, slicing, scaling): unchanged.
"""

import math
import operator

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from .linearize import LinearizablePReLU

ACTIVATION_TYPES = (nn.ReLU, nn.GELU, nn.Tanh, LinearizablePReLU)
ACTIVATION_FUNCTIONS = {torch.relu, F.relu, F.gelu, torch.tanh, F.tanh, "relu", "relu_", "tanh"}
SUMS = {operator.add, operator.iadd, torch.add, "add", "add_"}


class _ActivationsAsLeaves(fx.Tracer):
    def is_leaf_module(self, m, qualname):
        return isinstance(m, ACTIVATION_TYPES) or super().is_leaf_module(m, qualname)


def _nonlinear_fraction(module: nn.Module) -> float:
    return module.nonlinear_fraction() if isinstance(module, LinearizablePReLU) else 1.0


def _mixture(dists: list) -> np.ndarray:
    out = np.zeros(max(len(d) for d in dists))
    for d in dists:
        out[: len(d)] += d / len(dists)
    return out


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
    dists = {}
    for node in graph.nodes:
        if node.op == "placeholder":
            dists[node] = np.array([1.0])
            continue
        if node.op == "output":
            (result,) = [d for d in (dists.get(a) for a in node.all_input_nodes) if d is not None]
            return result
        inputs = [dists[a] for a in node.all_input_nodes if a in dists]
        if not inputs:
            continue  # a constant or a parameter: no path from the input runs through it
        if node.op == "call_module" and isinstance(modules[node.target], ACTIVATION_TYPES):
            p = fractions.get(node.target, _nonlinear_fraction(modules[node.target]))
            dists[node] = _bernoulli_step(inputs[0], p)
        elif node.op in ("call_function", "call_method") and node.target in ACTIVATION_FUNCTIONS:
            dists[node] = _bernoulli_step(inputs[0], 1.0)
        elif len(inputs) == 1:
            dists[node] = inputs[0]
        elif node.target in SUMS:
            dists[node] = _mixture(inputs)
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
