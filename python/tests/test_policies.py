"""The policies of docs/model.md §10 from Python, each checked against an independent
computation rather than against the library itself:

* ``optimal``: the linear program of §10.2 built again here, from the model's text, and
  solved by HiGHS (``scipy.optimize.linprog``); its optimum must be the relaxation bound the
  library reports, the schedule played must cost what the library's last program says, and
  every reachable departure target must be met;
* the optimum is a lower bound of every other policy's system cost on the case study;
* ``edf`` and ``llf``: their rule (§10.1) re-implemented here, slot by slot, with site
  transformer limits (with and without a network file), EV by EV and slot by slot;
* ``v2g.compare``: the table of ``v2g compare`` (the CLI's ``comparison.csv``, cell by cell);
* the errors: an unknown policy, and the options only the price game takes.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

import v2g
from conftest import read_csv_rows, run_cli
from test_simulate import cells_equal

START = dt.datetime(2021, 5, 27, 7, 0)
SLOT = dt.timedelta(minutes=15)
SLOT_H = 0.25
E0 = 3.75  # Table I's e0_kwh (the scenarios below keep it)
SLOTS = 24  # the random days' horizon: six hours from START
# Table III, the default tariff (docs/model.md §2.1): (start hour, price).
TARIFF = [(0, 0.26), (8, 0.66), (10, 1.12), (12, 0.66), (14, 1.12), (19, 0.66)]
# docs/model.md §10.3's defaults.
BATTERY_PRICE, CYCLE_LIFE = 894.6, 3000.0


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(b))


def tariff(t: dt.datetime) -> float:
    h = t.hour + t.minute / 60
    return [p for start, p in TARIFF if start <= h][-1]


# ---------------------------------------------------------------------------------------
# Random fleets on the 15-minute grid


def random_day(seed: int, n_max: int = 50, slots: int = SLOTS, sites: int = 0):
    """A seeded fleet, grid table and scenario keys: sessions on whole slots (some starting
    before or ending after the horizon), departure targets (some out of reach), chargers of
    limited power (some without V2G), losses, an auxiliary task in some slots and the
    grid's p_rt in some (the tariff's elsewhere)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(max(5, n_max // 2), n_max + 1))
    rows = []
    for i in range(n):
        cap = float(rng.choice([40.0, 60.0, 75.0, 120.0]))
        init = round(float(rng.uniform(0.0, cap)), 3)
        a = int(rng.integers(-4, slots - 1))
        b = int(rng.integers(a + 1, min(a + 16, slots + 4) + 1))
        if i == 0:
            a, b = 0, 8  # at least one session acts in the horizon
        row = {
            "ev_id": f"ev{i}",
            "kind": "bus" if cap == 120.0 else "private",
            "capacity_kwh": cap,
            "initial_kwh": init,
            "arrival": START + a * SLOT,
            "departure": START + b * SLOT,
            "target_kwh": np.nan,
            "max_kw": np.nan,
            "max_discharge_kw": np.nan,
        }
        u = rng.random()
        if u < 0.25:
            # Often out of reach: near full after a short session.
            row["target_kwh"] = round(float(rng.uniform(0.8, 1.0)) * cap, 3)
        elif u < 0.6:
            row["target_kwh"] = round(float(rng.uniform(0.0, cap)), 3)
        if rng.random() < 0.5:
            row["max_kw"] = round(float(rng.uniform(3.0, 22.0)), 2)
        v = rng.random()
        if v < 0.2:
            row["max_discharge_kw"] = 0.0
        elif v < 0.5:
            row["max_discharge_kw"] = round(float(rng.uniform(2.0, 20.0)), 2)
        if sites:
            row["site"] = f"s{int(rng.integers(sites))}" if rng.random() < 0.7 else None
        rows.append(row)
    fleet = pd.DataFrame(rows)
    times = [START + t * SLOT for t in range(slots)]
    task = rng.random(slots) < 0.5
    given = rng.random(slots) < 0.5
    grid = pd.DataFrame(
        {
            "time": times,
            "base_load_kw": np.round(rng.uniform(100.0, 500.0, slots), 1),
            "e_limit_kwh": np.where(task, np.round(rng.uniform(0.0, 40.0, slots), 2), 0.0),
            "p_rt": np.where(given, np.round(rng.uniform(0.1, 1.5, slots), 3), np.nan),
        }
    )
    params = {
        "charge_efficiency": round(float(rng.uniform(0.85, 0.99)), 3),
        "discharge_efficiency": round(float(rng.uniform(0.85, 0.99)), 3),
        "w_grid": round(float(rng.uniform(0.5, 1.6)), 3),
    }
    if rng.random() < 0.5:
        params["min_departure_soc"] = round(float(rng.uniform(0.2, 0.6)), 2)
    scenario = {"horizon": {"start": START.strftime("%Y-%m-%dT%H:%M"), "slots": slots}, "params": params}
    return fleet, grid, scenario


def opt(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


class Ev:
    """A fleet row as the model sees it (docs/model.md §1, §3.1, §3.2)."""

    def __init__(self, row, params, slots: int):
        self.cap = float(row["capacity_kwh"])
        self.initial = float(row["initial_kwh"])
        a = (row["arrival"] - START) / SLOT
        b = (row["departure"] - START) / SLOT
        # Plugged for the whole slot t: arrival <= start of t, departure >= end of t.
        self.first = max(0, math.ceil(a))
        self.end = min(slots, math.floor(b))
        self.n = max(0, self.end - self.first)
        max_kw = opt(row.get("max_kw"))
        max_dis = opt(row.get("max_discharge_kw"))
        if max_dis is None:
            max_dis = max_kw
        self.up = math.inf if max_kw is None else max_kw * SLOT_H
        self.down = math.inf if max_dis is None else max_dis * SLOT_H
        t = opt(row.get("target_kwh"))
        self.wanted = t if t is not None else params.get("min_departure_soc", 0.0) * self.cap
        self.site = row.get("site")

    def x_max(self, e: float, eta_c: float) -> float:
        """Flat-out charging's bound (§5.2): the room left filled at η_c, at most 1, the
        charger's power."""
        if eta_c == 1.0:
            soc = e / self.cap
            x = min(max((1.0 - soc) * self.cap / E0, 0.0), 1.0)
        else:
            x = min(max((self.cap - e) / (E0 * eta_c), 0.0), 1.0)
        if self.up < E0:
            x = min(x, self.up / E0)
        return x

    def reach(self, eta_c: float) -> float:
        """What flat-out charging holds at departure (§5.2)."""
        e = self.initial
        for _ in range(self.n):
            e = min(max(e + E0 * self.x_max(e, eta_c) * eta_c, 0.0), self.cap)
        return e


# ---------------------------------------------------------------------------------------
# a. The optimum's linear program, built here from docs/model.md §10.2


def optimum_by_highs(fleet, grid, scenario):
    """The optimum's first cost program of §10.2, solved by HiGHS: returns (its optimum plus
    the penalty of the slots no EV can serve, the targets the program holds each EV to,
    the least total shortfall). Without site limits the targets are hard; with limits
    (which can put targets out of reach together) a first program minimises the total
    shortfall and the cost program holds it."""
    params = scenario["params"]
    slots = scenario["horizon"]["slots"]
    eta_c, eta_d = params["charge_efficiency"], params["discharge_efficiency"]
    w_grid = params["w_grid"]
    omega = BATTERY_PRICE / (2.0 * CYCLE_LIFE)
    p_rt = [g if not math.isnan(g) else tariff(t) for g, t in zip(grid["p_rt"], grid["time"])]
    delta = [2.0 * p for p in p_rt]  # delta_factor · p_rt (Table I)
    e_limit = list(grid["e_limit_kwh"])
    sites = scenario.get("sites", [])
    names = [x["name"] for x in sites]
    # L_s = transformer_kva·pf·0.25 kWh a slot (§9.3).
    limits = [
        x["transformer_kva"] * x.get("power_factor", 1.0) * SLOT_H if "transformer_kva" in x else None
        for x in sites
    ]

    cost, lo, hi = [], [], []

    def var(c, a=0.0, b=math.inf):
        cost.append(c)
        lo.append(a)
        hi.append(b)
        return len(cost) - 1

    eq_rows, eq_rhs, le_rows, le_rhs = [], [], [], []
    d_of_slot = [[] for _ in range(slots)]
    at_site = {}  # (site, slot) -> {column: ±1}
    held, last = {}, {}
    for i, row in enumerate(fleet.to_dict("records")):
        ev = Ev(row, params, slots)
        if ev.n == 0:
            continue
        site = None
        if sites:
            site = names.index(ev.site) if isinstance(ev.site, str) else i % len(sites)
            if limits[site] is None:
                site = None
        c_max, d_max = min(E0, ev.up), min(E0, ev.down)
        prev = None
        for k in range(ev.n):
            t = ev.first + k
            c = var(p_rt[t] + omega * eta_c)
            d = var(-w_grid + omega / eta_d) if d_max > 0 else None
            e = var(0.0, 0.0, ev.cap)
            # E_{k+1} = E_k + η_c·c − d/η_d.
            terms = {e: 1.0, c: -eta_c}
            if d is not None:
                terms[d] = 1.0 / eta_d
                # c/C̄ + d/D̄ <= 1.
                le_rows.append({c: 1.0 / c_max, d: 1.0 / d_max})
                le_rhs.append(1.0)
                d_of_slot[t].append(d)
            else:
                hi[c] = c_max
            if prev is None:
                eq_rhs.append(ev.initial)
            else:
                terms[prev] = -1.0
                eq_rhs.append(0.0)
            eq_rows.append(terms)
            if site is not None:
                at = at_site.setdefault((site, t), {})
                at[c] = 1.0
                if d is not None:
                    at[d] = -1.0
            prev = e
        if ev.wanted > 0:
            # The Rust side's margins: just above the target, or just inside what
            # flat-out charging reaches when the target is out of it (§5.2's rule).
            held[i] = min(ev.wanted + 5e-7, ev.reach(eta_c) - 1e-7)
            last[i] = prev
    constant = 0.0
    for t in range(slots):
        if not d_of_slot[t]:
            constant += delta[t] * e_limit[t]
            continue
        u = var(delta[t])
        # u >= E_limit − D and u >= D − E_limit.
        le_rows.append({**{d: -1.0 for d in d_of_slot[t]}, u: -1.0})
        le_rhs.append(-e_limit[t])
        le_rows.append({**{d: 1.0 for d in d_of_slot[t]}, u: -1.0})
        le_rhs.append(e_limit[t])
    # −L_s <= Σ_{i at s} (c − d) <= L_s.
    for (site, t), terms in at_site.items():
        le_rows.append(dict(terms))
        le_rhs.append(limits[site])
        le_rows.append({j: -v for j, v in terms.items()})
        le_rhs.append(limits[site])

    def solve(cost, lo, le_rows, le_rhs):
        def matrix(rows):
            r, c, v = [], [], []
            for k, terms in enumerate(rows):
                for j, x in terms.items():
                    r.append(k)
                    c.append(j)
                    v.append(x)
            return sp.csr_matrix((v, (r, c)), shape=(len(rows), len(cost)))

        res = linprog(
            np.array(cost),
            A_ub=matrix(le_rows),
            b_ub=np.array(le_rhs),
            A_eq=matrix(eq_rows),
            b_eq=np.array(eq_rhs),
            bounds=list(zip(lo, [None if math.isinf(h) else h for h in hi])),
            method="highs",
            options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
        )
        assert res.status == 0, res.message
        return res.fun

    if not (at_site and held):
        for i, target in held.items():
            lo[last[i]] = max(lo[last[i]], target)
        short = sum(max(0.0, Ev(row, params, slots).wanted - held[i])
                    for i, row in enumerate(fleet.to_dict("records")) if i in held)
        return solve(cost, lo, le_rows, le_rhs) + constant, held, short
    # Soft targets: E_n + s_i >= target, s_i >= 0; first the least Σ s_i.
    n = len(cost)
    slack = {}
    for i, target in held.items():
        slack[i] = var(0.0)
        hi[slack[i]] = math.inf
        le_rows.append({last[i]: -1.0, slack[i]: -1.0})
        le_rhs.append(-target)
    first = [0.0] * n + [1.0] * len(slack)
    least = max(solve(first, lo, le_rows, le_rhs), 0.0)
    # Then the cost, with the total shortfall held (the Rust side's margin).
    le_rows.append({s: 1.0 for s in slack.values()})
    le_rhs.append(least + 1e-7 * (1.0 + least))
    return solve(cost, lo, le_rows, le_rhs) + constant, held, least


SEEDS = [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_optimum_is_the_linear_program_of_the_model_solved_by_highs(seed):
    fleet, grid, scenario = random_day(seed)
    r = v2g.simulate(fleet, grid, scenario=scenario, policy="optimal")
    s = r.summary
    assert r.policy == "optimal" and s["policy"] == "optimal"
    report = s["optimal"]
    best, held, short = optimum_by_highs(fleet, grid, scenario)
    assert close(report["relaxation_cny"], best), (report, best)
    # The schedule played is the last program's, settled by the slot loop (§10.1).
    assert close(s["system"]["total_cny"], report["objective_cny"]), (s["system"], report)
    assert report["objective_cny"] >= report["relaxation_cny"] - 1e-6 * max(1.0, abs(best))
    sc = s["system"]
    assert close(sc["total_cny"], sc["energy_cny"] - sc["aux_value_cny"] + sc["penalty_cny"] + sc["wear_cny"])
    # Every reachable target is met; one out of reach ends where flat-out charging does.
    evs = r.evs.to_pandas()
    params = scenario["params"]
    reach = [Ev(row, params, SLOTS).reach(params["charge_efficiency"]) for row in fleet.to_dict("records")]
    asked = evs["target_kwh"].notna()
    assert asked.any()
    reachable = evs["target_reachable"] == True  # noqa: E712 (a column of objects)
    assert evs.loc[reachable, "target_met"].all(), evs.loc[reachable & (evs["target_met"] != True)]  # noqa: E712
    out = asked & ~reachable
    for i in evs.index[out]:
        assert evs.at[i, "final_kwh"] >= reach[i] - 1e-6, (i, evs.at[i, "final_kwh"], reach[i])
    assert abs(report["shortfall_kwh"] - short) <= 1e-6 * max(1.0, short)
    # Without the price game: no p_d, and the new columns are there.
    slots = r.slots
    assert slots.column("p_d").null_count == slots.num_rows
    assert {"base_load_kw", "wear_cny"} <= set(slots.column_names)
    assert close(sum(slots.column("wear_cny").to_pylist()), sc["wear_cny"])
    assert close(sum(r.evs.column("wear_cny").to_pylist()), s["evs"]["wear_cny"])


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_optimum_within_transformer_limits_is_the_two_stage_program(seed):
    """With site limits, targets can be out of reach together: the least total shortfall
    first, then the cost with it held (§10.2), both built here and solved by HiGHS."""
    fleet, grid, scenario = limited_day(seed)
    r = v2g.simulate(fleet, grid, scenario=scenario, policy="optimal")
    report = r.summary["optimal"]
    best, held, least = optimum_by_highs(fleet, grid, scenario)
    assert close(report["relaxation_cny"], best), (report, best)
    assert close(r.summary["system"]["total_cny"], report["objective_cny"])
    # The schedule played leaves the least shortfall (of the targets as the program holds
    # them).
    final = r.evs.column("final_kwh").to_pylist()
    played = sum(max(0.0, target - final[i]) for i, target in held.items())
    assert abs(played - least) <= 1e-6 * (1.0 + least) + 1e-6 * len(held), (played, least)
    assert least > 0.5  # the limits do put targets out of reach together


def test_the_random_days_exercise_what_they_claim():
    """The seeds above hold unreachable targets, chargers without V2G, a task, the grid's
    p_rt beside the tariff's, and the optimum has to fix simultaneous trades in some."""
    unreachable = no_v2g = rounds = 0
    for seed in SEEDS:
        fleet, grid, scenario = random_day(seed)
        params = scenario["params"]
        for row in fleet.to_dict("records"):
            ev = Ev(row, params, SLOTS)
            if ev.n and ev.wanted > ev.reach(params["charge_efficiency"]) + 1e-6:
                unreachable += 1
            no_v2g += row["max_discharge_kw"] == 0.0
        assert (grid["e_limit_kwh"] > 0).any() and grid["p_rt"].isna().any() and grid["p_rt"].notna().any()
        rounds += v2g.simulate(fleet, grid, scenario=scenario, policy="optimal").summary["optimal"]["rounds"] > 1
    assert unreachable >= len(SEEDS) and no_v2g >= len(SEEDS)
    assert rounds >= 1


# ---------------------------------------------------------------------------------------
# b. The optimum bounds every policy on the case study


@pytest.fixture(scope="module", params=[0.0, 0.6], ids=["no-targets", "min_departure_soc-0.6"])
def case_study_runs(request):
    soc = request.param
    keys = {"min_departure_soc": soc} if soc else {}
    return soc, {p: v2g.simulate("data/sustech.csv", policy=p, **keys) for p in v2g.POLICIES}


def test_the_optimum_is_a_lower_bound_of_every_policy_on_the_case_study(case_study_runs):
    soc, runs = case_study_runs
    total = {p: r.summary["system"]["total_cny"] for p, r in runs.items()}
    best = total["optimal"]
    for p, cost in total.items():
        assert best <= cost + 1e-6 * max(1.0, abs(cost)), (p, total)
    report = runs["optimal"].summary["optimal"]
    assert report["relaxation_cny"] <= best + 1e-6 * max(1.0, abs(best))
    for p, r in runs.items():
        assert r.policy == p
        evs = r.evs.to_pandas()
        if soc:
            assert evs["target_kwh"].notna().all()
            reachable = evs["target_reachable"] == True  # noqa: E712
            assert reachable.sum() > 0
            assert evs.loc[reachable, "target_met"].all(), (p, evs.loc[reachable & (evs["target_met"] != True)])  # noqa: E712
        else:
            assert evs["target_kwh"].isna().all()
        p_d = r.slots.column("p_d")
        game = p == "stackelberg"
        assert (p_d.null_count == 0) if game else (p_d.null_count == r.slots.num_rows)
        assert all((period["mean_p_d"] is not None) == game for period in r.summary["periods"])
    # Uncoordinated is §5.2's baseline as a full run.
    u = runs["uncoordinated"].evs
    assert u.column("final_kwh").to_pylist() == u.column("baseline_final_kwh").to_pylist()


def test_compare_is_the_table_of_the_runs_in_their_order(case_study_runs):
    _, runs = case_study_runs
    df = v2g.compare(list(runs.values()))
    assert list(df["run"]) == list(v2g.POLICIES) == list(df["policy"])
    totals = [r.summary["system"]["total_cny"] for r in runs.values()]
    assert list(df["system_cost_cny"]) == totals
    assert list(df["gap_cny"]) == [t - min(totals) for t in totals]
    assert df.loc[df["policy"] == "optimal", "gap_cny"].item() == 0.0
    labelled = v2g.compare({f"run {k}": r for k, r in enumerate(runs.values())})
    assert list(labelled["run"]) == [f"run {k}" for k in range(5)]
    assert labelled.drop(columns="run").equals(df.drop(columns="run"))


# ---------------------------------------------------------------------------------------
# c. EDF and LLF: their rule re-implemented here


def edf_llf_by_hand(fleet, scenario, order: str, slots: int = SLOTS):
    """§10.1's rule, slot by slot: each plugged EV asks for its request (its target, else a
    full battery); in deadline or laxity order (ties to the earlier row), each gets
    min(E0·x_max, (request − E)/η_c, what its site's transformer has left)."""
    params = scenario["params"]
    eta_c = params.get("charge_efficiency", 1.0)
    sites = scenario.get("sites", [])
    limits = [
        s["transformer_kva"] * s.get("power_factor", 1.0) * SLOT_H if "transformer_kva" in s else math.inf
        for s in sites
    ]
    names = [s["name"] for s in sites]
    evs = [Ev(row, params, slots) for row in fleet.to_dict("records")]
    site_of = [
        (names.index(ev.site) if isinstance(ev.site, str) else i % len(sites)) if sites else None
        for i, ev in enumerate(evs)
    ]
    request = [ev.wanted if ev.wanted > 0 else ev.cap for ev in evs]
    energy = [ev.initial for ev in evs]
    charged = []
    for t in range(slots):
        keyed = []
        for i, ev in enumerate(evs):
            if not (ev.first <= t < ev.end):
                continue
            e = energy[i]
            need = max(request[i] - e, 0.0) / eta_c
            want = min(E0 * ev.x_max(e, eta_c), need)
            if want <= 0:
                continue
            if order == "edf":
                key = float(ev.end)
            else:
                key = float(ev.end - t) - need / min(ev.up, E0)
            keyed.append((key, i, want))
        keyed.sort(key=lambda k: (k[0], k[1]))
        left = list(limits)
        total = 0.0
        for _, i, want in keyed:
            give = want
            if sites:
                s = site_of[i]
                give = max(min(want, left[s]), 0.0)
                left[s] -= give
            if give > 0:
                energy[i] = min(max(energy[i] + give * eta_c, 0.0), evs[i].cap)
                total += give
        charged.append(total)
    return energy, charged


def limited_day(seed: int):
    fleet, grid, scenario = random_day(100 + seed, n_max=30, sites=3)
    scenario["sites"] = [
        {"name": "s0", "bus": 6, "transformer_kva": 12.0},
        {"name": "s1", "bus": 14, "transformer_kva": 30.0, "power_factor": 0.9},
        {"name": "s2", "bus": 25},
    ]
    return fleet, grid, scenario


def assert_same(r, energy, charged):
    final = r.evs.column("final_kwh").to_pylist()
    assert len(final) == len(energy)
    for i, (a, b) in enumerate(zip(final, energy)):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (i, a, b)
    got = r.slots.column("charge_kwh").to_pylist()
    for t, (a, b) in enumerate(zip(got, charged)):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (t, a, b)
    assert r.slots.column("discharge_kwh").to_pylist() == [0.0] * len(got)


@pytest.mark.parametrize("order", ["edf", "llf"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_edf_and_llf_follow_their_rule_within_transformer_limits(order, seed):
    fleet, grid, scenario = limited_day(seed)
    energy, charged = edf_llf_by_hand(fleet, scenario, order)
    r = v2g.simulate(fleet, grid, scenario=scenario, policy=order)
    assert r.policy == order
    assert_same(r, energy, charged)
    # The limits bind (else the order would not matter).
    free, _ = edf_llf_by_hand(fleet, {**scenario, "sites": []}, order)
    assert sum(free) > sum(energy) + 1.0


@pytest.mark.parametrize("order", ["edf", "llf"])
@pytest.mark.parametrize("seed", [1, 2])
def test_edf_and_llf_without_limits_charge_up_to_the_request(order, seed):
    fleet, grid, scenario = random_day(200 + seed, n_max=30)
    energy, charged = edf_llf_by_hand(fleet, scenario, order)
    r = v2g.simulate(fleet, grid, scenario=scenario, policy=order)
    assert_same(r, energy, charged)
    # Without limits EDF and LLF are one schedule.
    other = v2g.simulate(fleet, grid, scenario=scenario, policy="llf" if order == "edf" else "edf")
    assert other.evs.column("final_kwh").equals(r.evs.column("final_kwh"))


def test_edf_and_llf_with_a_network_keep_the_same_limits():
    """With the sites on a real feeder (case33bw, docs/model.md §9) the schedule is the one
    the rule gives, the network only adding its power flows."""
    fleet, grid, scenario = limited_day(7)
    for order in ("edf", "llf"):
        energy, charged = edf_llf_by_hand(fleet, scenario, order)
        r = v2g.simulate(fleet, grid, scenario=scenario, policy=order, network="data/networks/case33bw.m")
        assert r.network is not None and r.network.num_rows == 2 * SLOTS
        assert_same(r, energy, charged)
        assert r.summary["network"]["scheme"]["peak_transformer_loading_pct"] <= 100.0 + 1e-9


# ---------------------------------------------------------------------------------------
# v2g.compare against the CLI's comparison.csv; the tables against its CSVs


def test_compare_equals_the_cli_s_comparison_csv_cell_by_cell(tmp_path):
    fleet = "data/example.csv"
    policies = ["stackelberg", "uncoordinated", "edf", "optimal"]
    dirs = []
    for p in policies:
        d = tmp_path / p
        run_cli("simulate", "--fleet", fleet, "--policy", p, "--ledger", "off", "--out", str(d), "-q")
        dirs.append(str(d))
    run_cli("compare", *dirs, "--out", str(tmp_path / "cmp"))
    results = [v2g.simulate(fleet, policy=p) for p in policies]
    df = v2g.compare(results)
    rows = read_csv_rows(tmp_path / "cmp" / "comparison.csv")
    assert list(df.columns) == rows[0]
    import pyarrow as pa

    cells_equal(pa.Table.from_pandas(df, preserve_index=False), rows)
    # Each policy's tables are its CSVs, p_d empty without the game.
    for p, r in zip(policies, results):
        cells_equal(r.slots, read_csv_rows(tmp_path / p / "slots.csv"))
        cells_equal(r.evs, read_csv_rows(tmp_path / p / "evs.csv"))


def test_compare_labels_runs_that_share_a_policy_and_refuses_other_days():
    a = v2g.simulate("data/example.csv", policy="edf")
    b = v2g.simulate("data/example.csv", policy="edf", min_departure_soc=0.5)
    assert list(v2g.compare([a, b])["run"]) == ["edf (1)", "edf (2)"]
    short = v2g.simulate("data/example.csv", policy="edf", slots=48)
    with pytest.raises(v2g.InputError, match="only runs of one horizon and currency compare"):
        v2g.compare([a, short])
    with pytest.raises(v2g.InputError, match="at least one"):
        v2g.compare([])
    with pytest.raises(TypeError):
        v2g.compare([a, "edf"])


def test_the_plot_of_a_policy_without_the_game_draws_no_p_d():
    import matplotlib

    matplotlib.use("Agg")
    _, fig4, _ = v2g.simulate("data/example.csv", policy="llf").plot()
    labels = {l.get_label() for ax in fig4.axes for l in ax.get_lines()}
    assert "p_rt" in labels and "p_d*" not in labels


# ---------------------------------------------------------------------------------------
# d. Bad input


def test_an_unknown_policy_is_an_input_error_naming_the_policies_and_nothing_is_written(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(v2g.InputError, match=r"invalid parameter policy: .*greedy.*stackelberg, uncoordinated, edf, llf or optimal"):
        v2g.simulate("data/example.csv", policy="greedy", out=out)
    assert not out.exists()
    with pytest.raises(v2g.InputError, match="policy"):
        v2g.simulate("data/example.csv", policy=3)
    # The same name in a scenario dict is the scenario's error.
    with pytest.raises(v2g.InputError, match="policy"):
        v2g.simulate("data/example.csv", scenario={"policy": "greedy"})


@pytest.mark.parametrize(
    "options,key",
    [
        ({"ledger": True}, "ledger"),
        ({"solver": "exact"}, "solver"),
        ({"workers": 3}, "workers"),
        ({"epsilon": 0.01}, "epsilon"),
    ],
)
def test_options_only_the_game_takes_are_refused_with_another_policy(tmp_path, options, key):
    out = tmp_path / "out"
    with pytest.raises(v2g.InputError, match=rf"invalid parameter [a-z.]*{key}: policy edf does not take"):
        v2g.simulate("data/example.csv", policy="edf", out=out, **options)
    assert not out.exists()


def test_the_policy_in_a_scenario_and_its_tables_are_the_keyword_s():
    a = v2g.simulate("data/example.csv", policy="llf")
    b = v2g.simulate("data/example.csv", scenario={"policy": "llf"})
    assert b.policy == "llf"
    assert a.slots.equals(b.slots) and a.evs.equals(b.evs)
    # The keyword overrides the scenario's.
    assert v2g.simulate("data/example.csv", scenario={"policy": "llf"}, policy="stackelberg").policy == "stackelberg"
    # [wear] reaches the scenario as a keyword too; 0 switches it off.
    off = v2g.simulate("data/example.csv", policy="llf", wear={"battery_price_per_kwh": 0.0})
    assert off.summary["system"]["wear_cny"] == 0.0 and a.summary["system"]["wear_cny"] > 0


def test_an_optimum_the_solver_cannot_reach_is_an_optimum_error_and_nothing_is_written(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(v2g.OptimumError, match=r"^the optimal schedule \(policy optimal\): .*iteration limit \(1"):
        v2g.simulate("data/example.csv", policy="optimal", optimal={"max_iterations": 1}, out=out)
    assert not out.exists()
    assert issubclass(v2g.OptimumError, RuntimeError) and issubclass(v2g.OptimumError, v2g.V2gError)
    # [optimal] options belong to the optimal policy alone.
    with pytest.raises(v2g.InputError, match="policy edf does not take \\[optimal\\] options"):
        v2g.simulate("data/example.csv", policy="edf", optimal={"max_iterations": 50})
