"""Re-making stored runs from their configs (issue 15): identical on the same machine and thread count."""

import json

from resdepth.config import RunConfig
from resdepth.remake import cheapest_runs, compare, remake
from resdepth.results import run_or_load
from resdepth.store import Store


def tiny(seed, steps=6):
    return RunConfig(experiment="re", model_args=dict(depth=2, width=4), dataset="sample", steps=steps,
                     batch_size=32, eval_every=3, seed=seed)


def test_a_stored_run_is_re_made_bit_identically_and_the_store_is_untouched(isolated_store):
    store = Store()
    for seed in (0, 1):
        run_or_load(tiny(seed), store, device="cpu", progress=False)
    run_or_load(tiny(2, steps=60), store, device="cpu", progress=False)  # too long for the sample below
    before = {p: p.read_bytes() for p in isolated_store.rglob("*.json")}
    table = remake(store, count=5, max_steps=10)
    assert sorted(table["key"]) == sorted(tiny(s).key for s in (0, 1))  # the long run is never drawn
    assert table["identical"].all() and (table["largest |Δ acc|"] == 0).all()
    assert (table["stored acc"] == table["re-made acc"]).all()
    assert {p: p.read_bytes() for p in isolated_store.rglob("*.json")} == before  # nothing written


def test_compare_reports_the_drift_of_a_changed_history(isolated_store):
    record = run_or_load(tiny(0), progress=False)
    drifted = json.loads(json.dumps(record))
    drifted["history"][-1]["test_acc"] += 0.0125
    drifted["final"]["test_acc"] += 0.0125
    line = compare(record, drifted)
    assert not line["identical"] and abs(line["largest |Δ acc|"] - 0.0125) < 1e-12


def test_the_draw_is_seeded(isolated_store):
    store = Store()
    for seed in range(4):
        run_or_load(tiny(seed), store, progress=False)
    first, again = cheapest_runs(store, 2, seed=3), cheapest_runs(store, 2, seed=3)
    assert [r["key"] for r in first] == [r["key"] for r in again] and len(first) == 2
