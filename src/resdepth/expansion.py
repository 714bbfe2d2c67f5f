"""The Residual Expansion Theorem (Dherin & Munn, Theorem 3.1), made computable.

For a tower f = D o R o E with R = (1 + lam F_n) o ... o (1 + lam F_1), z = E(x) and W the linear
part of the decoder (global average pool, then the weight matrix W_eta),

    f(x) = M0 + lam M1 + lam^2 M2 + O(lam^3),
    M0 = D(z),   M1 = sum_i W F_i(z),   M2 = sum_{i<j} W F_j'(z) F_i(z).

M2 needs one Jacobian-vector product per block: F_j'(z) applied to the prefix sum
s_j = sum_{i<j} F_i(z), since sum_{i<j} F_j'(z) F_i(z) = F_j'(z) s_j. That is n JVPs, not n^2.
"""

import math

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


# ----------------------------------------------------------------------------- combinatorial explosion


@torch.no_grad()
def output_growth(x: torch.Tensor, depths, lams=("1", "1/sqrt(n)", "1/n"), batchnorm: bool = False,
                  width: int = 16, seed: int = 0, num_classes: int = 10):
    """At initialisation: the tower gain ‖R(z)‖/‖z‖ and the logit norm against depth n.

    One freshly initialised tower per (depth, lam rule), fed the same images ``x``. Towers with
    BatchNorm run in training mode, so BN normalizes with batch statistics as it does during
    training. Values that overflow float32 are reported as inf: that is the explosion.
    """
    import pandas as pd

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # thousands of tiny convs: thread hand-offs cost more than they save
    try:
        rows = list(_growth_rows(x, depths, lams, batchnorm, width, seed, num_classes))
    finally:
        torch.set_num_threads(threads)
    return pd.DataFrame(rows)


def _growth_rows(x, depths, lams, batchnorm, width, seed, num_classes):
    for depth in depths:
        for rule in lams:
            torch.manual_seed(seed)
            tower = ResidualTower(depth, width, rule, batchnorm, in_channels=x.shape[1], num_classes=num_classes)
            tower.train(batchnorm)
            z = tower.encoder(x)
            r = tower.tower(z)
            logits = tower.decoder(r)
            gain = (r.flatten(1).norm(dim=1) / z.flatten(1).norm(dim=1)).mean().item()
            logit_norm = logits.norm(dim=1).mean().item()
            yield {"depth": depth, "lam_rule": rule, "lam": tower.lam, "batchnorm": batchnorm,  # inf - inf = nan:
                   "tower_gain": gain if math.isfinite(gain) else math.inf,  # both mean overflow
                   "logit_norm": logit_norm if math.isfinite(logit_norm) else math.inf}


# ----------------------------------------------------------------------------- geometric complexity


def _squared_jacobians(functions, x: torch.Tensor):
    """For each f in ``functions`` (all mapping [B, ...] -> [B, K], sample by sample), the input
    Jacobians of every sample as a tensor [K, B, ...]: one VJP per output class, vmapped."""
    from torch.func import vjp, vmap

    jacobians = []
    for f in functions:
        out, pullback = vjp(f, x)
        basis = torch.eye(out.shape[1], dtype=out.dtype, device=out.device)
        cotangents = basis[:, None, :].expand(-1, out.shape[0], -1)  # [K, B, K]
        jacobians.append(vmap(pullback)(cotangents)[0])
    return jacobians


def geometric_complexity(model: torch.nn.Module, batches) -> float:
    """<f, D>_G = (1/|D|) sum_x ‖∇_x f(x)‖_F^2 (Dherin et al. 2022; Appendix B), computed exactly.

    ``batches`` yields input tensors (or (input, label) pairs). The model must treat samples
    independently (eval mode for BatchNorm).
    """
    total, count = 0.0, 0
    for batch in batches:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        (jacobian,) = _squared_jacobians([model], x)
        total += jacobian.pow(2).sum().item()
        count += x.shape[0]
    return total / count


def geometric_complexity_first_order(tower: ResidualTower, batches) -> dict:
    """Corollary B.0.1: <f, D>_G = <M0, D>_G + 2 lam (1/|D|) sum_x Tr(A^T B) + O(lam^2), with
    A = ∇_x M0(x) = W E'(x) and B = ∇_x sum_i W F_i(E(x)) = ∇_x M1(x).

    Returns the base term, the first-order coefficient, and the prediction at the tower's lam.
    """
    linear = tower.decoder.linear_part
    base_model = lambda x: tower.decoder(tower.encoder(x))

    def first_order_model(x):
        z = tower.encoder(x)
        return linear(sum(branch(z) for branch in tower.blocks))

    base, cross, count = 0.0, 0.0, 0
    for batch in batches:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        a, b = _squared_jacobians([base_model, first_order_model], x)
        base += a.pow(2).sum().item()
        cross += (a * b).sum().item()
        count += x.shape[0]
    base, slope = base / count, 2 * cross / count
    return {"base": base, "slope": slope, "prediction": base + tower.lam * slope, "lam": tower.lam}


# ----------------------------------------------------------------------------- Appendix C


@torch.no_grad()
def embedding_check(tower: ResidualTower, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Appendix C: zero the parameters of the last block of a depth-n tower, and it computes the
    same function, and so the same loss, as the depth-(n-1) tower made of its other parameters
    (same numerical lam). Returns the largest output difference and both losses."""
    if tower.depth < 2:
        raise ValueError("the embedding check needs a tower of depth >= 2")
    first = next(tower.parameters())
    shallow = ResidualTower(tower.depth - 1, tower.width, tower.lam, tower.batchnorm, tower.activation,
                            in_channels=tower.encoder[0].in_channels, num_classes=tower.decoder.fc.out_features,
                            stem_pool=tower.stem_pool)
    shallow = shallow.to(first.device, first.dtype)
    state = {k: v for k, v in tower.state_dict().items() if not k.startswith(f"blocks.{tower.depth - 1}.")}
    shallow.load_state_dict(state)
    for p in tower.blocks[-1].parameters():
        p.zero_()
    tower.eval(), shallow.eval()
    deep_out, shallow_out = tower(x), shallow(x)
    loss = torch.nn.functional.cross_entropy
    return {"max_abs_diff": (deep_out - shallow_out).abs().max().item(),
            "loss_deep": loss(deep_out, y).item(), "loss_shallow": loss(shallow_out, y).item()}


# ----------------------------------------------------------------------------- terms per path


@torch.no_grad()
def path_terms(tower: ResidualTower, x: torch.Tensor):
    """The expansion's terms split by the blocks their paths run through, at inputs ``x``:

        M0 = D(z),   first[i] = W F_i(z),   second[i, j] = W F_j'(z) F_i(z)  (i < j; 0 otherwise),

    so that M1 = sum_i first[i] and M2 = sum_{i<j} second[i, j] (Theorem 3.1). A path that skips a
    set of blocks survives their deletion, so the expansion of the tower with those blocks deleted
    keeps exactly the terms whose blocks are all kept (``surviving_terms``). Costs n(n-1)/2 JVPs,
    once; every deletion set then costs two sums. Returns (M0 [N, C], first [n, N, C],
    second [n, n, N, C]).
    """
    z = tower.encoder(x)
    linear = tower.decoder.linear_part
    outputs = [branch(z) for branch in tower.blocks]
    n = len(outputs)
    m0 = tower.decoder(z)
    first = torch.stack([linear(out) for out in outputs])
    second = torch.zeros(n, n, *m0.shape, dtype=m0.dtype, device=m0.device)
    for j in range(1, n):
        for i in range(j):
            second[i, j] = linear(jvp(tower.blocks[j], (z,), (outputs[i],))[1])
    return m0, first, second


def surviving_terms(terms, kept) -> tuple:
    """(M0, M1, M2) restricted to the paths through kept blocks only: ``kept`` is a boolean mask
    over the n blocks, ``terms`` is what ``path_terms`` returned."""
    m0, first, second = terms
    kept = torch.as_tensor(kept, dtype=torch.bool, device=first.device)
    return m0, first[kept].sum(0), second[kept][:, kept].sum((0, 1))
