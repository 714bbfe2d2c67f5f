"""Cost of the expansion terms and of geometric complexity against tower depth n.

- M2 by the prefix-sum identity (``resdepth.expansion.expansion_terms``): n - 1 JVPs, one per
  block, applied to s_j = sum_{i<j} F_i(z); the cost should grow like n;
- M2 by the double sum (``expansion_terms_brute_force``): n(n-1)/2 JVPs; it should grow like n^2;
- exact geometric complexity (``geometric_complexity``): one vmapped VJP per class through the
  whole tower; it should grow like n.

The exponent is the least-squares slope of log time against log n over the depths measured.
"""

import time

import numpy as np
import torch

from resdepth.data import sample_test_batch
from resdepth.expansion import expansion_terms, expansion_terms_brute_force, geometric_complexity
from resdepth.models import ResidualTower

METHODS = {
    "M2, n JVPs": lambda tower, x: expansion_terms(tower, x),
    "M2, n(n-1)/2 JVPs (brute force)": lambda tower, x: expansion_terms_brute_force(tower, x),
    "geometric complexity (exact)": lambda tower, x: geometric_complexity(tower, [x]),
}


def seconds(fn, repeats: int = 3) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run(depths, brute_force_max_depth: int, width: int = 32, images: int = 16, device="cpu") -> tuple:
    """(rows of (method, n, seconds), rows of (method, fitted exponent))."""
    x, _ = sample_test_batch(images)
    x = x.to(device)
    rows = []
    for n in depths:
        torch.manual_seed(0)
        tower = ResidualTower(n, width=width, in_channels=1).to(device).eval()
        for method, fn in METHODS.items():
            if "brute" in method and n > brute_force_max_depth:
                continue
            t = seconds(lambda: fn(tower, x))
            rows.append({"method": method, "depth_n": n, "seconds": round(t, 5), "width": width, "images": images})
            print(f"  n={n:<5} {method:<34} {t * 1e3:9.1f} ms", flush=True)
    fits = []
    for method in METHODS:
        pts = [(r["depth_n"], r["seconds"]) for r in rows if r["method"] == method and r["depth_n"] >= 4]
        slope = np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0]
        fits.append({"method": method, "exponent": round(float(slope), 2), "depths": f"{pts[0][0]}..{pts[-1][0]}"})
    return rows, fits
