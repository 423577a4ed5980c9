"""The network's power flows (docs/model.md §9) against pandapower, the field's reference.

The CLI runs a day on a network and writes each flow's inputs and results
(``network_buses.csv``: every bus's demand ``p_kw``/``q_kvar`` and its ``vm_pu``/``va_deg``,
per slot and policy; ``network.csv``: the flow's ``losses_kw``). pandapower reads the same
MATPOWER file on its own, its loads are replaced by the CSV's demands (one load per bus),
generators and the slack kept as the case has them, and ``runpp`` solves the flow again:
every bus's voltage must agree within 1e-6 p.u. (angles within 1e-5 degrees) and the
losses within 1e-6 relative.

* case33bw (radial, 12.66 kV): the case study, every slot of the day under both policies.
  Its .m file converts ohms and kW to p.u. and MW in MATLAB statements after the data,
  which pandapower's converter does not run: the data are read by pandapower's own .m
  reader (``matpowercaseframes``) and the two conversions re-applied here.
* case118 (meshed, PV generators, tap transformers, shunts): the example fleet with its
  grid file's base load (3,000 or 4,500 kW) scaled by 800 and by 1000, four load levels
  from 2.4 to 4.5 GW (the case's own load is 4.2 GW), a slot of each under both
  policies; read by ``from_mpc``.

Both sides use MATPOWER's branch model (pi model for transformers) and no reactive
limits (``enforce_q_lims=False``, pandapower's default and MATPOWER's ``runpf``'s).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandapower as pp
import pytest
from pandapower.converter.matpower.from_mpc import _m2ppc, from_mpc
from pandapower.converter.pypower.from_ppc import from_ppc

from conftest import DATA, run_cli

NETWORKS = DATA / "networks"
CASE_STUDY = NETWORKS / "sustech_case33bw.toml"

VM_TOL = 1e-6  # p.u.
VA_TOL = 1e-5  # degrees
LOSS_RTOL = 1e-6
FLOW = dict(
    algorithm="nr",
    tolerance_mva=1e-10,
    calculate_voltage_angles=True,
    trafo_model="pi",
    enforce_q_lims=False,
    max_iteration=30,
)


def read_rows(path: Path) -> list:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def flows_of(out: Path) -> dict:
    """``{(policy, slot): (buses, p_kw, q_kvar, vm_pu, va_deg, losses_kw)}`` from a run's
    network CSVs (arrays in the CSV's bus order)."""
    buses = defaultdict(list)
    for r in read_rows(out / "network_buses.csv"):
        buses[(r["policy"], int(r["slot"]))].append(
            (int(r["bus"]), float(r["p_kw"]), float(r["q_kvar"]), float(r["vm_pu"]), float(r["va_deg"]))
        )
    losses = {(r["policy"], int(r["slot"])): float(r["losses_kw"]) for r in read_rows(out / "network.csv")}
    assert set(losses) == set(buses)
    flows = {}
    for key, rows in buses.items():
        a = np.array(rows)
        flows[key] = (a[:, 0].astype(int), a[:, 1], a[:, 2], a[:, 3], a[:, 4], losses[key])
    return flows


def case33bw_net():
    """case33bw in pandapower: the .m file's data, then its two MATLAB conversions
    (r, x in ohms to p.u. on Vbase = the first bus's BASE_KV; kW to MW)."""
    ppc = _m2ppc(str(NETWORKS / "case33bw.m"))
    bus, branch = ppc["bus"], ppc["branch"]
    vbase = bus[0, 9] * 1e3
    sbase = ppc["baseMVA"] * 1e6
    branch[:, [2, 3]] = branch[:, [2, 3]] / (vbase**2 / sbase)
    bus[:, [2, 3]] = bus[:, [2, 3]] / 1e3
    return from_ppc(ppc, f_hz=50)


def case118_net():
    return from_mpc(str(NETWORKS / "case118.m"), f_hz=60)


def with_one_load_per_bus(net, path: Path, n_bus: int):
    """The case's loads replaced by one zero load on each bus (set per flow). pandapower's
    converter numbers the buses from 0 in the file's order: with the file's bus numbers
    1..n in that order, pandapower's bus i is the case's bus i + 1."""
    numbers = _m2ppc(str(path))["bus"][:, 0]  # the converter's 0-based numbers
    assert list(numbers) == list(range(n_bus)), "the case's buses are not numbered 1..n in order"
    assert list(net.bus.index) == list(range(n_bus))
    # Negative demands and generators at PQ buses would be static generators, which the
    # replacement below would leave in place: these cases have none.
    assert net.sgen.empty
    net.load.drop(net.load.index, inplace=True)
    pp.create_loads(net, buses=list(net.bus.index), p_mw=0.0, q_mvar=0.0)
    assert list(net.load.bus) == list(range(n_bus))
    return net


def compare(net, flows: dict, keys: list) -> dict:
    """Solves each flow of `keys` in pandapower with the run's demands; asserts and returns
    the largest deviations."""
    worst = {"vm": 0.0, "va": 0.0, "loss_rel": 0.0, "flows": 0, "buses": 0, "vm_min": 2.0}
    for key in keys:
        buses, p_kw, q_kvar, vm, va, losses_kw = flows[key]
        assert list(buses) == list(range(1, len(net.bus) + 1)), key
        net.load["p_mw"] = p_kw / 1e3
        net.load["q_mvar"] = q_kvar / 1e3
        pp.runpp(net, **FLOW)
        assert net.converged, key
        vm_pp = net.res_bus.vm_pu.loc[buses - 1].to_numpy()
        va_pp = net.res_bus.va_degree.loc[buses - 1].to_numpy()
        loss_pp = 1e3 * (
            net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum() + net.res_impedance.pl_mw.sum()
        )
        dvm = float(np.max(np.abs(vm - vm_pp)))
        dva = float(np.max(np.abs(va - va_pp)))
        dloss = abs(losses_kw - loss_pp) / abs(loss_pp)
        assert dvm <= VM_TOL, (key, dvm)
        assert dva <= VA_TOL, (key, dva)
        assert dloss <= LOSS_RTOL, (key, losses_kw, loss_pp)
        worst["vm"] = max(worst["vm"], dvm)
        worst["va"] = max(worst["va"], dva)
        worst["loss_rel"] = max(worst["loss_rel"], dloss)
        worst["vm_min"] = min(worst["vm_min"], float(vm.min()))
        worst["flows"] += 1
        worst["buses"] += len(buses)
    print(
        f"\n{worst['flows']} flows, {worst['buses']} bus voltages: max |dVm| {worst['vm']:.3e} p.u., "
        f"max |dVa| {worst['va']:.3e} deg, max dLoss {worst['loss_rel']:.3e} relative"
    )
    return worst


def test_case33bw_every_slot_of_the_case_study_matches_pandapower(tmp_path):
    out = tmp_path / "out"
    run_cli("simulate", "--fleet", "data/sustech.csv", "--scenario", str(CASE_STUDY),
            "--ledger", "off", "--out", str(out), "-q")
    flows = flows_of(out)
    keys = sorted(flows)
    # Every slot of the day, under both policies.
    assert keys == [(p, t) for p in ("baseline", "scheme") for t in range(96)]
    net = with_one_load_per_bus(case33bw_net(), NETWORKS / "case33bw.m", 33)
    worst = compare(net, flows, keys)
    assert (worst["flows"], worst["buses"]) == (192, 192 * 33)
    # Loaded flows, not a flat profile: the baseline's evening drives the feeder's end far
    # below 0.9 p.u.
    assert worst["vm_min"] < 0.9
    assert min(f[5] for f in flows.values()) > 0


def case118_run(tmp_path: Path, scale: float) -> dict:
    """The example fleet on case118, its grid file's base load times `scale`, three sites
    at load buses (one at a 0.95 power factor, one without a transformer rating)."""
    scenario = tmp_path / f"case118_x{scale:g}.toml"
    scenario.write_text(
        f'network = "{(NETWORKS / "case118.m").as_posix()}"\n'
        f"network_load_scale = {scale!r}\n"
        '[[sites]]\nname = "north"\nbus = 3\ntransformer_kva = 500\n'
        '[[sites]]\nname = "east"\nbus = 20\ntransformer_kva = 500\npower_factor = 0.95\n'
        '[[sites]]\nname = "south"\nbus = 75\n'
    )
    out = tmp_path / f"out_x{scale:g}"
    run_cli("simulate", "--fleet", "data/example.csv", "--scenario", str(scenario),
            "--ledger", "off", "--out", str(out), "-q")
    flows = flows_of(out)
    assert len(flows) == 2 * 96
    return flows


def test_case118_meshed_at_four_load_levels_matches_pandapower(tmp_path):
    # The example grid's base load is 3,000 or 4,500 kW; scaled by 800 and by 1000 it is
    # 2.4, 3.0, 3.6 and 4.5 GW, around the case's own 4,242 MW.
    base = [float(r["base_load_kw"]) for r in read_rows(DATA / "example_grid.csv")]
    assert sorted(set(base)) == [3000.0, 4500.0]
    net = with_one_load_per_bus(case118_net(), NETWORKS / "case118.m", 118)
    assert len(net.gen) > 0 and len(net.trafo) > 0 and len(net.shunt) > 0
    levels = set()
    worst = {"flows": 0, "buses": 0, "vm": 0.0, "va": 0.0, "loss_rel": 0.0}
    for scale in (800.0, 1000.0):
        flows = case118_run(tmp_path, scale)
        for level in (3000.0, 4500.0):
            at_level = [t for t, b in enumerate(base) if b == level]
            # The level's first slot in which the sites draw or feed power under either
            # policy (the EVs' injections on top of the base load), else its first slot.
            def site_kw(t):
                return max(abs(flows[(p, t)][1].sum() - scale * base[t]) for p in ("scheme", "baseline"))
            t = next((t for t in at_level if site_kw(t) > 1e-6), at_level[0])
            keys = [("scheme", t), ("baseline", t)]
            for key in keys:
                # The demands are the base load times the scale, plus the sites' EVs.
                assert abs(flows[key][1].sum() - scale * base[t]) < 1000, key
            levels.add(scale * level)
            w = compare(net, flows, keys)
            for k in ("flows", "buses"):
                worst[k] += w[k]
            for k in ("vm", "va", "loss_rel"):
                worst[k] = max(worst[k], w[k])
    assert sorted(levels) == [2.4e6, 3.0e6, 3.6e6, 4.5e6]
    assert (worst["flows"], worst["buses"]) == (8, 8 * 118)
    print(
        f"\ncase118, all: max |dVm| {worst['vm']:.3e} p.u., max |dVa| {worst['va']:.3e} deg, "
        f"max dLoss {worst['loss_rel']:.3e} relative"
    )
