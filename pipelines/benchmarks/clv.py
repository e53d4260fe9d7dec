"""CLV part of `make bench`: BG/NBD and Gamma-Gamma on N simulated customers (default
1,000,000), ours against lifetimes and PyMC-Marketing (MAP) fitted on the same data in the
same run.

The data: the demo world's BG/NBD process (r 0.9, α 120 days, a 1, b 5), first purchases
spread over three years, purchase times floored to whole days like real order dates — so
histories repeat as they do in a shop export. Gamma-Gamma spend from p 6, q 4, γ 15.

Timed (each a median over `repeats`, in a fresh subprocess):
- `bgnbd_fit_raw`     bgnbd.fit on one row per customer (the like-for-like comparison
                      with the libraries, which also take one row per customer);
- `clv_compute`       what the pipeline does: collapse identical histories, fit BG/NBD and
                      Gamma-Gamma, score P(alive), expected purchases (90/365 d), spend,
                      discounted 12-month CLV for every customer.
Baselines run in `.venv-baselines` (created on first use with pip from the registry; set
BENCH_BASELINES=0 to skip). A library that does not install is reported as such.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pipelines.settings import REPO_ROOT

BASELINE_VENV = REPO_ROOT / ".venv-baselines"
BASELINE_PACKAGES = ["lifetimes==0.11.3", "pymc-marketing"]
TRUE = {"r": 0.9, "alpha": 120.0 / 7, "a": 1.0, "b": 5.0}


def simulate(n: int, path: Path, seed: int = 1) -> None:
    from pipelines.models import bgnbd, gamma_gamma

    rng = np.random.default_rng(seed)
    T_days = rng.integers(1, 3 * 365 + 1, n)
    x, t_x = bgnbd.simulate(bgnbd.BgNbdParams(0.9, 120.0, 1.0, 5.0), T_days.astype(float), seed=seed + 1)
    tx_days = np.floor(t_x)
    tx_days = np.where(x > 0, np.maximum(tx_days, 1), 0)
    spend = np.zeros(n)
    rep = x > 0
    spend[rep] = gamma_gamma.simulate(gamma_gamma.GammaGammaParams(6.0, 4.0, 15.0), x[rep], seed=seed + 2)
    np.savez(path, x=x, tx_days=tx_days.astype(np.int64), T_days=T_days.astype(np.int64), spend=spend,
             t_x=tx_days / 7.0, T=T_days / 7.0)


def worker(task: str, path: Path) -> dict:
    import polars as pl

    from pipelines.models import bgnbd
    from pipelines.models.clv import ClvConfig, compute

    d = np.load(path)
    n = len(d["x"])
    if task == "bgnbd_fit_raw":
        t = time.perf_counter()
        fit = bgnbd.fit(d["x"], d["t_x"], d["T"])
        seconds = time.perf_counter() - t
        extra = {"params": fit.params.as_dict(), "iterations": fit.iterations,
                 "log_likelihood": fit.log_likelihood}
    elif task == "clv_compute":
        inputs = pl.DataFrame({
            "customer_id": np.arange(n).astype(str), "as_of_date": [None] * n,
            "frequency": d["x"], "recency_days": d["tx_days"], "t_days": d["T_days"],
            "mean_repeat_spend_eur": np.where(d["x"] > 0, d["spend"], np.nan),
            "holdout_days": np.zeros(n, np.int64), "holdout_repeat_purchases": np.zeros(n, np.int64),
        }, schema_overrides={"as_of_date": pl.Date})
        t = time.perf_counter()
        run = compute(inputs, ClvConfig())
        seconds = time.perf_counter() - t
        extra = {"steps_s": {k: round(v, 3) for k, v in run.seconds.items()},
                 "params": run.bgnbd_fit.params.as_dict() if run.bgnbd_fit else None,
                 "null_reason": run.null_reason}
    else:
        raise ValueError(task)
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), **extra}


def peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM of its address space). Not ru_maxrss:
    Linux carries a parent's peak over fork and exec into the child's ru_maxrss, so every
    worker reported the bench process's 7.5 GB."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(task: str, path: Path, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-m", "pipelines.benchmarks.clv", task, str(path)],
                             capture_output=True, text=True, check=False)
        if out.returncode:
            raise SystemExit(f"bench: CLV step {task} failed:\n{out.stderr[-3000:]}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    last = runs[-1]
    return {"median_s": statistics.median(r["seconds"] for r in runs),
            "runs_s": [round(r["seconds"], 3) for r in runs],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            **{k: v for k, v in last.items() if k not in ("seconds", "peak_rss_mb")}}


def _baseline_python() -> Path | None:
    python = BASELINE_VENV / "bin" / "python"
    stamp = BASELINE_VENV / ".installed"
    if stamp.exists():
        return python
    print("bench: installing lifetimes and PyMC-Marketing into .venv-baselines (first run only) …",
          flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True)
    out = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          *BASELINE_PACKAGES], capture_output=True, text=True, check=False)
    if out.returncode:
        print(f"bench: baselines not installable here:\n{out.stderr[-1500:]}", flush=True)
        return None
    stamp.touch()
    return python


def _baseline(python: Path, library: str, path: Path, repeats: int) -> dict:
    script = Path(__file__).with_name("clv_baselines.py")
    out = subprocess.run([str(python), str(script), str(path), library, str(repeats)],
                         capture_output=True, text=True, check=False)
    if out.returncode:
        return {"error": (out.stderr or out.stdout).strip().splitlines()[-1][:300]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(n: int, workdir: Path, repeats: int = 3) -> dict:
    path = workdir / f"clv_{n}.npz"
    t = time.perf_counter()
    simulate(n, path)
    print(f"bench: CLV data for {n:,} customers simulated in {time.perf_counter() - t:.1f} s", flush=True)
    result: dict = {"customers": n, "repeat_buyers": int((np.load(path)["x"] > 0).sum()),
                    "true_params_weeks": TRUE}
    result["bgnbd_fit_raw"] = _measure("bgnbd_fit_raw", path, repeats)
    result["clv_compute"] = _measure("clv_compute", path, repeats)
    result["baselines"] = {}
    if os.environ.get("BENCH_BASELINES", "1") != "0":
        python = _baseline_python()
        for library in ("lifetimes", "pymc-marketing"):
            if python is None:
                result["baselines"][library] = {"error": "not installable on this machine"}
                continue
            print(f"bench: {library} on the same {n:,} customers …", flush=True)
            result["baselines"][library] = _baseline(python, library, path, 1)
    return result


def report(r: dict) -> list[str]:
    ours = r["bgnbd_fit_raw"]["median_s"]
    lines = [
        f"CLV models, {r['customers']:,} simulated customers ({r['repeat_buyers']:,} repeat buyers)",
        "",
        "| step | median s | runs s | peak RSS MB | ratio to our BG/NBD fit | r | α (weeks) | a | b |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]

    def row(name: str, m: dict, params: dict | None) -> str:
        p = params or {}
        cells = " | ".join(f"{p[k]:.3f}" if k in p else "—" for k in ("r", "alpha", "a", "b"))
        rss = f"{m['peak_rss_mb']:.0f}" if m.get("peak_rss_mb") else "—"
        return (f"| {name} | {m['median_s']:.2f} | {m.get('runs_s', '')} | "
                f"{rss} | {m['median_s'] / ours:.1f}× | {cells} |")

    lines.append(row("ours: BG/NBD fit, one row per customer", r["bgnbd_fit_raw"],
                     r["bgnbd_fit_raw"].get("params")))
    lines.append(row("ours: clv.compute (collapse, both fits, scoring)", r["clv_compute"],
                     r["clv_compute"].get("params")))
    for library, b in r["baselines"].items():
        if "error" in b:
            lines.append(f"| {library} | — | — | — | — | {b['error']} | | | |")
        else:
            lines.append(row(f"{library} BG/NBD fit" + (" (MAP)" if "pymc" in library else ""),
                             {"median_s": b["median_s"], "runs_s": b["runs_s"]},
                             b["params"]))
    lines.append(f"| truth | | | | | {TRUE['r']:.3f} | {TRUE['alpha']:.3f} | {TRUE['a']:.3f} | "
                 f"{TRUE['b']:.3f} |")
    lines.append("")
    lines.append(f"clv.compute steps (last run): {r['clv_compute'].get('steps_s')}")
    return lines


if __name__ == "__main__":
    print(json.dumps(worker(sys.argv[1], Path(sys.argv[2]))))
