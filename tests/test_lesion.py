"""The lesion study's library: deleting blocks, and the expansion restricted to surviving paths."""

import pytest
import torch

from resdepth import expansion, lesion
from resdepth.models import ResidualTower


def tower(lam=0.1, depth=5, width=6, activation="gelu"):
    torch.manual_seed(0)
    return ResidualTower(depth=depth, width=width, lam=lam, activation=activation, in_channels=1).double().eval()


X = torch.randn(3, 1, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1))


def test_deleting_nothing_is_the_tower_and_deleting_everything_is_the_base_model():
    t = tower()
    torch.testing.assert_close(lesion.lesioned_logits(t, X, []), t(X))
    torch.testing.assert_close(lesion.lesioned_logits(t, X, range(5)), t.decoder(t.encoder(X)))
    assert not torch.allclose(lesion.lesioned_logits(t, X, [2]), t(X))


def test_all_path_terms_sum_to_the_theorems_terms():
    t = tower(depth=6)
    terms = expansion.path_terms(t, X)
    for mine, theirs in zip(expansion.surviving_terms(terms, [True] * 6), expansion.expansion_terms(t, X)):
        torch.testing.assert_close(mine, theirs, rtol=1e-10, atol=1e-12)


def test_surviving_terms_are_the_terms_of_the_tower_with_those_blocks_zeroed():
    """A block whose last conv is zero computes F = 0: the tower is the lesioned one, exactly, and
    its expansion is the expansion restricted to the paths that avoid that block."""
    t = tower(depth=6)
    deleted = [1, 4]
    terms = expansion.path_terms(t, X)
    kept = [i not in deleted for i in range(6)]
    for i in deleted:
        t.blocks[i][-1].weight.data.zero_()
        t.blocks[i][-1].bias.data.zero_()
    torch.testing.assert_close(t(X), lesion.lesioned_logits(tower(depth=6), X, deleted))
    for mine, theirs in zip(expansion.surviving_terms(terms, kept), expansion.expansion_terms(t, X)):
        torch.testing.assert_close(mine, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lam", [0.02, 0.01])
def test_the_surviving_expansion_predicts_the_lesioned_tower_to_third_order(lam):
    t = tower(lam=lam, depth=6)
    m0, m1, m2 = expansion.surviving_terms(expansion.path_terms(t, X), [True, False, True, True, False, True])
    error = (lesion.lesioned_logits(t, X, [1, 4]) - (m0 + lam * m1 + lam**2 * m2)).norm().item()
    scale = (m0 + lam * m1).norm().item()
    assert error < 50 * lam**3 * scale  # O(lam^3): halving lam cuts it about eightfold


def test_deletion_sets_are_seeded_sorted_distinct_and_checked():
    sets = lesion.deletion_sets(16, 2, 5, seed=3)
    assert sets == lesion.deletion_sets(16, 2, 5, seed=3) != lesion.deletion_sets(16, 2, 5, seed=4)
    assert len(set(sets)) == 5 and all(list(s) == sorted(s) and len(s) == 2 for s in sets)
    assert lesion.deletion_sets(3, 3, 2, seed=0) == [(0, 1, 2), (0, 1, 2)]  # only one set exists
    with pytest.raises(ValueError, match="cannot delete 5 of 4 blocks"):
        lesion.deletion_sets(4, 5, 1, seed=0)


def test_lesion_rows_measure_and_predict_each_deletion():
    t = tower(lam=0.05, depth=4)
    y = torch.tensor([0, 1, 2])
    rows = lesion.lesion_rows(t, X, y, ks=[1, 2], draws=2, seed=0)
    assert [r["k"] for r in rows] == [0, 1, 1, 2, 2] and rows[0]["path_share"] == 1.0
    assert all(0 < r["path_share"] < 1 for r in rows[1:])
    assert rows[0]["test_acc"] == lesion.accuracy(t(X), y)
