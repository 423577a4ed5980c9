"""SlotGame against the Rust core's own runs and an independent NumPy reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import v2g

LN2 = np.log(2.0)
E0, W_SERVICE, W_GRID, P_DELAY = 3.75, 0.5, 0.792, 0.1


def random_state(rng: np.random.Generator, n: int) -> pd.DataFrame:
    cap = rng.uniform(20.0, 160.0, n)
    return pd.DataFrame(
        {
            "energy_kwh": cap * rng.uniform(0.0, 1.0, n),
            "capacity_kwh": cap,
            "beta": rng.uniform(0.05, 0.4, n),
            "a": rng.uniform(-0.1, 0.0, n),
        }
    )


def reference(state: pd.DataFrame, p_rt: float, e_limit: float, p: float):
    """Eq. 9 and Eqs. 3-7 written again from docs/model.md, in NumPy."""
    e, cap = state.energy_kwh.to_numpy(), state.capacity_kwh.to_numpy()
    beta, a = state.beta.to_numpy(), state.a.to_numpy()
    u_idle = 0.0
    p_c = p_rt + W_SERVICE
    soc = e / cap
    w = beta / np.maximum(soc, 0.001)
    x_max = np.clip((1 - soc) * cap / E0, 0, 1)
    x_min = np.clip(-soc * cap / E0, -1, 0)
    x_c = np.clip(w / (p_c * LN2) - 1, 0, x_max)
    u_c = w * np.log2(1 + x_c) - p_c * x_c
    charge = (x_c > 0) & (u_c > u_idle)
    u_fb = np.where(charge, u_c, u_idle)
    q = a - p
    with np.errstate(divide="ignore", invalid="ignore"):
        x_d = np.clip(w / (q * LN2) - 2, x_min, 0)
        u_d = w * (np.log2(2 + x_d) - 1) - a * x_d + p * x_d
    dis = (q > 0) & (x_d < 0) & (u_d > u_fb)
    x = np.where(dis, x_d, np.where(charge, x_c, 0.0))
    regime = np.where(dis, -1, np.where(charge, 1, 0))
    near_tie = (q > 0) & (x_d < 0) & (np.abs(u_d - u_fb) < 1e-9)
    d = E0 * -x[dis].sum()
    r = W_SERVICE * E0 * x[regime == 1].sum() + W_GRID * d - P_DELAY * (regime == 0).sum() - abs(p) * d - 2 * p_rt * abs(e_limit - d)
    return x, regime, near_tie, r


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_best_responses_and_revenue_match_the_model_at_random_prices(seed):
    rng = np.random.default_rng(seed)
    state = random_state(rng, 400)
    p_rt, e_limit = float(rng.uniform(0.2, 1.2)), float(rng.uniform(0, 300))
    g = v2g.SlotGame(state, p_rt, e_limit)
    lo, hi = g.price_range
    assert (lo, hi) == (-3 * p_rt, 0.0) and g.p_c == p_rt + W_SERVICE and len(g) == 400
    prices = rng.uniform(lo, hi, 50)
    xs, regimes = g.best_responses(prices)
    assert xs.shape == (50, 400) and regimes.dtype == np.int8
    revenues = g.revenue(prices)
    parts = g.revenue_parts(prices)
    for i, p in enumerate(prices):
        x, regime, tie, r = reference(state, p_rt, e_limit, p)
        ok = ~tie
        assert np.array_equal(regimes[i][ok], regime[ok])
        np.testing.assert_allclose(xs[i][ok], x[ok], rtol=1e-12, atol=1e-12)
        if not tie.any():
            assert revenues[i] == pytest.approx(r, rel=1e-9, abs=1e-9)
        assert parts["revenue"][i] == revenues[i]
        assert parts["n_charge"][i] + parts["n_discharge"][i] + parts["n_idle"][i] == 400
    assert g.revenue(float(prices[0])) == revenues[0]
    x0, r0 = g.best_responses(float(prices[0]))
    assert np.array_equal(x0, xs[0]) and np.array_equal(r0, regimes[0])


def test_each_best_response_beats_a_dense_scan_of_x():
    rng = np.random.default_rng(9)
    state = random_state(rng, 60)
    g = v2g.SlotGame(state, 0.7, 40.0)
    p = -0.9
    xs, _ = g.best_responses(p)
    e, cap = state.energy_kwh.to_numpy(), state.capacity_kwh.to_numpy()
    soc = e / cap
    w = state.beta.to_numpy() / np.maximum(soc, 0.001)
    a = state.a.to_numpy()
    p_c = 0.7 + W_SERVICE

    def u(x, i):
        return np.where(
            x > 0, w[i] * np.log2(1 + np.maximum(x, 0)) - p_c * x,
            np.where(x < 0, w[i] * (np.log2(2 + np.minimum(x, 0)) - 1) - a[i] * x + p * x, 0.0),
        )

    for i in range(60):
        lo = max(-1.0, -soc[i] * cap[i] / E0)
        hi = min(1.0, (1 - soc[i]) * cap[i] / E0)
        grid = np.append(np.linspace(lo, hi, 20001), 0.0)
        assert u(np.array([xs[i]]), i)[0] >= u(grid, i).max() - 1e-9


def one_slot_run(state: pd.DataFrame, p_rt: float, e_limit: float, solver: str) -> dict:
    """The same state as a whole run of one slot, through the pipeline."""
    n = len(state)
    fleet = pd.DataFrame(
        {
            "ev_id": [f"ev{i}" for i in range(n)],
            "kind": ["private"] * n,
            "capacity_kwh": state.capacity_kwh,
            "initial_kwh": state.energy_kwh,
            "arrival": ["2021-05-27T06:00"] * n,
            "departure": ["2021-05-28T06:00"] * n,
            "beta": state.beta,
            "a": state.a,
        }
    )
    grid = pd.DataFrame({"time": ["2021-05-27T07:00"], "base_load_kw": [0.0], "e_limit_kwh": [e_limit], "p_rt": [p_rt]})
    return v2g.simulate(fleet, grid, slots=1, solver=solver).slots.to_pylist()[0]


@pytest.mark.parametrize("seed", [4, 5])
def test_search_and_solve_exact_equal_the_simulation_s_slot(seed):
    rng = np.random.default_rng(seed)
    state = random_state(rng, 300)
    p_rt, e_limit = float(rng.uniform(0.3, 1.1)), float(rng.uniform(10, 200))
    g = v2g.SlotGame(state, p_rt, e_limit)
    grid_slot = one_slot_run(state, p_rt, e_limit, "grid")
    best = g.search()
    assert best["p_d"] == grid_slot["p_d"]
    for k in ("revenue", "r_service", "r_grid", "c_v2g", "c_limit", "charge_kwh", "discharge_kwh", "n_charge", "n_discharge", "n_idle"):
        assert best[k] == grid_slot[k], k
    assert g.search(workers=3) == best  # the same bits for any workers
    exact_slot = one_slot_run(state, p_rt, e_limit, "exact")
    ex = g.solve_exact()
    assert ex["p_d"] == exact_slot["p_d"] and ex["revenue"] == exact_slot["revenue"]
    assert g.revenue(ex["p_d"]) == ex["revenue"]
    assert ex["revenue"] >= best["revenue"] - 1e-9
    # A coarser grid never beats the finer one.
    assert g.search(epsilon=0.01)["revenue"] <= best["revenue"]


def test_defaults_come_from_params_and_bad_states_are_located():
    state = pd.DataFrame({"energy_kwh": [10.0, 20.0], "capacity_kwh": [40.0, 60.0]})
    g = v2g.SlotGame(state, 0.5, 0.0, w_grid=1.5, beta=0.3)
    explicit = v2g.SlotGame(state.assign(beta=[0.3, 0.3], a=[-0.01, -0.01]), 0.5, 0.0, w_grid=1.5)
    assert g.search() == explicit.search()
    with pytest.raises(v2g.InputError, match=r"fleet_state row 1 \(energy_kwh\)"):
        v2g.SlotGame(pd.DataFrame({"energy_kwh": [1.0, 99.0], "capacity_kwh": [40.0, 60.0]}), 0.5)
    with pytest.raises(v2g.InputError, match="no column capacity_kwh"):
        v2g.SlotGame({"energy_kwh": [1.0]}, 0.5)
    with pytest.raises(v2g.InputError, match="params.w_grid"):
        v2g.SlotGame(state, 0.5, w_grid=-1.0)
    with pytest.raises(v2g.InputError, match="p_rt"):
        v2g.SlotGame(state, float("nan"))
    with pytest.raises(v2g.InputError, match="p_d"):
        g.revenue([0.0, float("inf")])
    with pytest.raises(v2g.InputError, match="workers"):
        g.search(workers=0)
    empty = v2g.SlotGame(pd.DataFrame({"energy_kwh": [], "capacity_kwh": []}), 0.5, 10.0)
    assert empty.search()["n_idle"] == 0


@pytest.mark.parametrize("seed", [6, 7])
def test_batch_revenue_is_revenue_at_bit_for_bit_even_at_the_thresholds(seed):
    rng = np.random.default_rng(seed)
    state = random_state(rng, 500)
    g = v2g.SlotGame(state, float(rng.uniform(0.3, 1.1)), float(rng.uniform(0, 300)))
    lo, hi = g.price_range
    tau = np.frombuffer(g._core.thresholds(), dtype=np.float64)
    near = tau[np.isfinite(tau)]
    # Each threshold and its neighbours a few units in the last place away.
    steps = np.concatenate([np.nextafter(near, np.inf), np.nextafter(near, -np.inf), near, near + 1e-12, near - 1e-12])
    prices = np.concatenate([rng.uniform(lo, hi, 2000), steps, np.linspace(lo, hi, 997)])
    b = prices.tobytes()
    fast = g._core.revenue(b)
    ref = g._core.revenue_reference(b)
    for f, r in zip(fast, ref):
        assert f == r  # bytes: every bit of every part
