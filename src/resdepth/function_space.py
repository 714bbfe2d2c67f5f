"""Function-space facts of *ResNets Are Deeper Than You Think*: Proposition 1 and parameter counts.

Proposition 1. A residual layer R(x) = phi(W x + b) + x is a feedforward layer of double width
followed by one more affine map, exactly only as eps -> 0:

    g_eps(x) = [I, I / (eps phi'(beta))] phi([W; eps I] x + [b; beta 1]) - phi(beta) / (eps phi'(beta)),

because (phi(eps x + beta) - phi(beta)) / (eps phi'(beta)) = x + O(eps) (a Taylor step at the
offset beta, which needs phi'(beta) != 0). The error is O(eps) in general, O(eps^2) where
phi''(beta) = 0 (tanh at beta = 0). For ReLU with beta > 0 the second half is exactly linear as long
as eps x_i + beta >= 0 for every coordinate: g_eps = R exactly once eps <= beta / max_i(-x_i).
So the skip costs a feedforward net twice the width and an extra layer, and equality holds only in
a limit (ReLU: only on a bounded input set), which is the paper's argument that ResNets are not an
equivalent reparameterization of feedforward nets.
"""

import torch
from torch import nn

from .linearize import slope_count, to_prelu
from .merge import parameter_count
from .models import ACTIVATIONS


class ResidualLayer(nn.Module):
    """R(x) = phi(W x + b) + x on vectors of size ``dim``."""

    def __init__(self, dim: int, activation: str = "relu"):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.act = ACTIVATIONS[activation]()

    def forward(self, x):
        return self.act(self.linear(x)) + x


@torch.no_grad()
def residual_as_feedforward(block: ResidualLayer, eps: float, offset: float = 1.0) -> nn.Sequential:
    """The double-width feedforward layer g_eps of Proposition 1 (module docstring)."""
    if not eps > 0:
        raise ValueError(f"eps must be > 0; got {eps}")
    dim = block.linear.in_features
    beta = torch.tensor(float(offset), dtype=block.linear.weight.dtype, requires_grad=True)
    with torch.enable_grad():
        phi_beta = block.act(beta)
        (slope,) = torch.autograd.grad(phi_beta, beta)
    if slope.abs() < 1e-12:
        raise ValueError(f"phi'(offset) = 0 at offset {offset}: pick an offset where the activation has a slope")
    dtype = block.linear.weight.dtype
    up, down = nn.Linear(dim, 2 * dim, dtype=dtype), nn.Linear(2 * dim, dim, dtype=dtype)
    eye = torch.eye(dim, dtype=dtype)
    up.weight.copy_(torch.cat([block.linear.weight, eps * eye]))
    up.bias.copy_(torch.cat([block.linear.bias, torch.full((dim,), float(offset))]))
    down.weight.copy_(torch.cat([eye, eye / (eps * slope)], dim=1))
    down.bias.fill_(-(phi_beta.detach() / (eps * slope)).item())
    return nn.Sequential(up, type(block.act)(), down)


@torch.no_grad()
def feedforward_error(block: ResidualLayer, x: torch.Tensor, eps: float, offset: float = 1.0) -> float:
    """max |g_eps(x) - R(x)| / max |R(x)| over the batch ``x``."""
    exact = block(x)
    return ((residual_as_feedforward(block, eps, offset)(x) - exact).abs().max() / exact.abs().max()).item()


def parameter_counts(build, example_input: torch.Tensor) -> dict:
    """Parameters of one net after channel-wise and after layer-wise PReLU swaps.

    ``build()`` returns a fresh deployed net. The difference is the extra slopes of channel-wise
    linearization, which the paper puts at about 0.03% for RepVGG-A2.
    """
    channel = to_prelu(build(), example_input, "channel")
    layer = to_prelu(build(), example_input, "layer")
    n_channel, n_layer = parameter_count(channel), parameter_count(layer)
    return {
        "weights": n_layer - slope_count(layer),
        "slopes_channel": slope_count(channel),
        "slopes_layer": slope_count(layer),
        "params_channel": n_channel,
        "params_layer": n_layer,
        "overhead_pct": 100.0 * (n_channel - n_layer) / n_layer,
    }
