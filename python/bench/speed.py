"""The Python package's speed figures in docs/benchmarks.md (run from the repository's root with
the package installed, e.g. in the venv ./test builds):

    target/python-test-venv/bin/python python/bench/speed.py

1. v2g.simulate on the case study against the Rust library's own time for the same
   call (v2g._v2g.time_library: pipeline::run timed in Rust), ledger off, both solvers,
   interleaved, medians of R runs each;
2. SlotGame.revenue over 1,000 prices for 2,000 EVs;
3. one PricingEnv.step with 2,000 EVs plugged (without and with the exact optimum in info).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import pandas as pd

import v2g
import v2g.env
from v2g import _v2g

R = int(sys.argv[1]) if len(sys.argv) > 1 else 9
FLEET = "data/sustech.csv"


def median_ms(f, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return 1e3 * statistics.median(ts)


for solver in ("grid", "exact"):
    v2g.simulate(FLEET, solver=solver)  # warm-up
    rust, py = [], []
    for _ in range(R):
        rust += _v2g.time_library(FLEET, solver, 1)
        t = time.perf_counter()
        v2g.simulate(FLEET, solver=solver)
        py.append(time.perf_counter() - t)
    r, p = 1e3 * statistics.median(rust), 1e3 * statistics.median(py)
    print(f"simulate case study, solver {solver}: Rust library {r:.1f} ms, v2g.simulate {p:.1f} ms, ratio {p / r:.3f}")

fleet = v2g.read_fleet(FLEET)
state = pd.DataFrame({"energy_kwh": fleet.initial_kwh, "capacity_kwh": fleet.capacity_kwh})
game = v2g.SlotGame(state, 1.16, 200.0)
lo, hi = game.price_range
prices = np.linspace(lo, hi, 1000)
game.revenue(prices)
print(f"SlotGame.revenue, 1,000 prices x {len(game)} EVs: {median_ms(lambda: game.revenue(prices), 21):.2f} ms")

# Every session plugged all day: 2,000 EVs in every slot.
allday = fleet.assign(arrival=pd.Timestamp("2021-05-27T06:00"), departure=pd.Timestamp("2021-05-28T08:00"))
for optimum in (None, "exact"):
    env = v2g.env.PricingEnv(allday, "data/sustech_grid.csv", optimum=optimum)
    env.reset()
    ts = []
    for _ in range(3):
        env.reset()
        done = False
        while not done:
            a = env.action_space.sample()
            t = time.perf_counter()
            _, _, done, _, _ = env.step(a)
            ts.append(time.perf_counter() - t)
    print(f"PricingEnv.step, 2,000 EVs plugged, optimum={optimum}: median {1e3 * statistics.median(ts):.3f} ms over {len(ts)} steps")
