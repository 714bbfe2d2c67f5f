"""The Residual Expansion Theorem (Dherin & Munn, Theorem 3.1), made computable.

For a tower f = D o R o E with R = (1 + lam F_n) o ... o (1 + lam F_1), z = E(x) and W the linear
part of the decoder (global average pool, then the weight matrix W_eta),

    f(x) = M0 + lam M1 + lam^2 M2 + O(lam^3),
    M0 = D(z),   M1 = sum_i W F_i(z),   M2 = sum_{i<j} W F_j'(z) F_i(z).

M2 needs one Jacobian-vector product per block: F_j'(z) applied to the prefix sum
s_j = sum_{i<j} F_i(z), since sum_{i<j} F_j'(z) F_i(z) = F_j'(z) s_j. That is n JVPs, not n^2.
"""

import numpy as np
import torch
from torch.func import jvp

from .models.tower import ResidualTower


@torch.no_grad()
def expansion_terms(tower: ResidualTower, x: torch.Tensor):
    """(M0, M1, M2) of Theorem 3.1 at inputs ``x``; the tower should be in eval mode."""
    z = tower.encoder(x)
    linear = tower.decoder.linear_part
    m0 = tower.decoder(z)
    prefix = torch.zeros_like(z)  # s_j = sum_{i<j} F_i(z)
    m1_features = torch.zeros_like(z)
    m2_features = torch.zeros_like(z)
    for j, branch in enumerate(tower.blocks):
        if j == 0:
            branch_z = branch(z)
        else:
            branch_z, directional = jvp(branch, (z,), (prefix,))  # F_j(z), F_j'(z) s_j
            m2_features += directional
        m1_features += branch_z
        prefix += branch_z
    return m0, linear(m1_features), linear(m2_features)


@torch.no_grad()
def expansion_terms_brute_force(tower: ResidualTower, x: torch.Tensor):
    """The same terms from the double sum over pairs i < j: n(n-1)/2 JVPs. For tests."""
    z = tower.encoder(x)
    linear = tower.decoder.linear_part
    branch_outputs = [branch(z) for branch in tower.blocks]
    m2 = sum(
        (linear(jvp(tower.blocks[j], (z,), (branch_outputs[i],))[1])
         for j in range(len(tower.blocks)) for i in range(j)),
        torch.zeros_like(tower.decoder(z)),
    )
    return tower.decoder(z), sum(linear(b) for b in branch_outputs), m2


@torch.no_grad()
def expansion_error(tower: ResidualTower, x: torch.Tensor, lams) -> dict:
    """‖f_lam(x) - (M0 + lam M1 + lam^2 M2)‖ over a grid of lam, and the fitted log-log slope.

    The terms M_k do not depend on lam, so they are computed once; f_lam is the tower with its
    branch scale set to each lam in turn (and restored afterwards). Theorem 3.1 predicts a slope
    of 3 for smooth activations.
    """
    m0, m1, m2 = expansion_terms(tower, x)
    saved, errors = tower.lam, []
    try:
        for lam in lams:
            tower.lam = float(lam)
            errors.append((tower(x) - (m0 + lam * m1 + lam**2 * m2)).norm().item())
    finally:
        tower.lam = saved
    lams, errors = np.asarray(lams, dtype=float), np.asarray(errors)
    slope = np.polyfit(np.log(lams), np.log(errors), 1)[0]
    return {"lam": lams, "error": errors, "slope": float(slope),
            "norms": {"M0": m0.norm().item(), "M1": m1.norm().item(), "M2": m2.norm().item()}}
