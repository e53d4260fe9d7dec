"""Baseline CLV fits for `make bench`, run in a separate venv (.venv-baselines) that has
lifetimes and PyMC-Marketing — never imported by the product. Standalone on purpose: it
must not import `pipelines` (that venv does not have the product's dependencies).

Usage: python clv_baselines.py DATA.npz LIBRARY REPEATS → one JSON line
  DATA.npz holds x, t_x, T (weeks); LIBRARY is lifetimes or pymc-marketing.
"""

import json
import statistics
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def fit_lifetimes(x, t_x, T):
    from lifetimes import BetaGeoFitter

    m = BetaGeoFitter(penalizer_coef=0.0)
    m.fit(x, t_x, T)
    p = m.params_
    return {"r": p["r"], "alpha": p["alpha"], "a": p["a"], "b": p["b"]}


def fit_pymc_marketing(x, t_x, T):
    import pandas as pd
    from pymc_marketing.clv import BetaGeoModel

    data = pd.DataFrame({"customer_id": np.arange(len(x)), "frequency": x, "recency": t_x, "T": T})
    model = BetaGeoModel(data=data)
    model.fit(method="map") if "method" in model.fit.__code__.co_varnames else model.fit(fit_method="map")
    post = model.fit_result
    post = getattr(post, "posterior", post)
    return {k: float(post[k].values.ravel()[0]) for k in ("r", "alpha", "a", "b")}


def main() -> int:
    path, library, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    d = np.load(path)
    x, t_x, T = d["x"], d["t_x"], d["T"]
    fit = {"lifetimes": fit_lifetimes, "pymc-marketing": fit_pymc_marketing}[library]
    fit(x[:2000], t_x[:2000], T[:2000])  # warm-up (imports, compilation)
    times, params = [], {}
    for _ in range(repeats):
        t = time.perf_counter()
        params = fit(x, t_x, T)
        times.append(time.perf_counter() - t)
    print(json.dumps({"library": library, "median_s": statistics.median(times),
                      "runs_s": [round(v, 3) for v in times],
                      "params": {k: float(v) for k, v in params.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
