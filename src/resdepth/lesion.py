"""Lesion study (Veit et al., 2016) on the residual tower, beside the expansion's prediction.

Deleting block i of a trained tower replaces z <- z + lam F_i(z) by z <- z: every path through
block i is removed and every path that skips it survives. Veit et al. read a graceful loss of
accuracy under such deletions as evidence that a ResNet behaves like an ensemble of shallow paths.
The Residual Expansion Theorem (Dherin & Munn, Theorem 3.1) makes the reading quantitative: to
second order the deleted tower computes M0 + lam M1_K + lam^2 M2_K, where M1_K and M2_K keep only
the terms whose blocks are all in the kept set K (``resdepth.expansion.surviving_terms``).
"""

import numpy as np
import torch

from .expansion import path_terms, surviving_terms
from .models.tower import ResidualTower


@torch.no_grad()
def lesioned_logits(tower: ResidualTower, x: torch.Tensor, deleted) -> torch.Tensor:
    """The tower's logits with the blocks ``deleted`` (indices) skipped: z <- z there."""
    deleted = set(deleted)
    z = tower.encoder(x)
    for i, branch in enumerate(tower.blocks):
        if i not in deleted:
            z = z + tower.lam * branch(z)
    return tower.decoder(z)


def deletion_sets(depth: int, k: int, draws: int, seed: int) -> list:
    """``draws`` sets of ``k`` block indices drawn uniformly without replacement (seeded), each
    sorted; distinct where there are enough sets (C(depth, k) >= draws)."""
    if not 1 <= k <= depth:
        raise ValueError(f"cannot delete {k} of {depth} blocks")
    rng = np.random.default_rng(seed)
    sets, tries = [], 0
    while len(sets) < draws:
        pick = tuple(sorted(int(i) for i in rng.choice(depth, size=k, replace=False)))
        tries += 1
        if pick not in sets or tries > 100 * draws:
            sets.append(pick)
    return sets


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return (logits.argmax(1) == y).float().mean().item()


@torch.no_grad()
def lesion_rows(tower: ResidualTower, x: torch.Tensor, y: torch.Tensor, ks, draws: int, seed: int) -> list:
    """One row per deletion set: k, draw, the deleted blocks, the measured test accuracy, the
    accuracy the second-order expansion of the surviving paths predicts, and the share of the
    expansion's path mass that survives: ||M0|| + lam sum_{i in K} ||W F_i|| + lam^2 sum_{i<j in K}
    ||W F_j' F_i||, over the same sum for all blocks (each path's term counted by its own norm);
    plus a row k = 0 for the intact tower. ``tower`` in eval mode; ``x`` normalized."""
    terms = path_terms(tower, x)
    lam, n = float(tower.lam), tower.depth
    first_norms = terms[1].flatten(1).norm(dim=1)  # ||W F_i(z)|| per block
    second_norms = terms[2].flatten(2).norm(dim=2)  # ||W F_j'(z) F_i(z)|| per pair (0 for i >= j)

    def predicted(kept):
        m0, m1, m2 = surviving_terms(terms, kept)
        mask = torch.as_tensor(kept, dtype=torch.bool)
        mass = (m0.norm() + lam * first_norms[mask].sum() + lam**2 * second_norms[mask][:, mask].sum()).item()
        return accuracy(m0 + lam * m1 + lam**2 * m2, y), mass

    full_pred, full_mass = predicted([True] * n)
    rows = [{"k": 0, "draw": 0, "deleted": "", "test_acc": accuracy(tower(x), y), "predicted_acc": full_pred,
             "path_share": 1.0}]
    for k in ks:
        for draw, deleted in enumerate(deletion_sets(n, k, draws, seed + 1000 * k)):
            kept = [i not in deleted for i in range(n)]
            pred, mass = predicted(kept)
            rows.append({"k": k, "draw": draw, "deleted": ",".join(map(str, deleted)),
                         "test_acc": accuracy(lesioned_logits(tower, x, deleted), y), "predicted_acc": pred,
                         "path_share": mass / full_mass})
    return rows
