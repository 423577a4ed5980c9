"""``PricingEnv``: the EVA's pricing problem as a Gymnasium environment.

Each step is one 15-minute slot of the run. The agent is the EV aggregator: it chooses the
discharging price ``p_d`` (CNY/kWh); every plugged EV answers with its best response
(Eq. 9); the reward is the EVA's revenue ``R`` (Eqs. 3–7) at that price; the slot is
settled, which moves each battery's energy, and the next slot's EVs plug in. An episode
is the scenario's horizon (96 slots for the case study). Nothing is random: the
environment is the deterministic replay of ``v2g.simulate`` with the agent's prices.

Action: ``Box(low, high, (1,), float32)`` with ``low`` the lowest ``p_d,min = −3 p_rt``
over the horizon and ``high = p_d,max``; an action outside the current slot's range
``[p_d,min(t), p_d,max]`` (observations 3 and 4) is clipped into it, and ``info["p_d"]``
is the price applied.

Observation (float32, 11 features, all of the slot about to be played):

===  ==================  ============================================================
 0   slot_fraction       slot index / slots (1 after the last slot)
 1   p_rt                real-time price, CNY/kWh
 2   p_c                 charging price ``p_rt + W_service``, CNY/kWh
 3   p_d_min             lower end of this slot's price range, CNY/kWh
 4   p_d_max             upper end, CNY/kWh
 5   e_limit_kwh         the auxiliary-service task ``E_limit(t)``, kWh
 6   n_plugged           EVs plugged in this slot
 7   energy_kwh          energy held by the plugged EVs, kWh
 8   mean_soc            their mean state of charge (0 when none)
 9   max_charge_kwh      ``Σ min(E0, capacity − energy)``: most they could take, kWh
10   max_discharge_kwh   ``Σ min(E0, energy)``: most they could give, kWh
===  ==================  ============================================================

``info`` after each step: ``p_d`` (applied), ``revenue`` and its parts (``r_service``,
``r_grid``, ``c_v2g``, ``c_limit``, counts and energies), ``slot``, and the optimum of the
same state: ``optimum_revenue`` and ``optimum_p_d`` (the exact solver's supremum of ``R``,
or the paper's grid search with ``optimum="grid"``), so ``regret = optimum_revenue −
reward`` (also given). ``optimum=None`` skips it (faster steps).

``PricingEnv()`` runs the shipped case study (2,000 sessions, the campus grid day).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

try:
    import gymnasium as gym
    from gymnasium import spaces
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("v2g.env needs gymnasium: pip install 'v2g[env]'") from e

from . import FLEET_OPTIONAL, _grid_arg, _scenario_args, _table_arg, _v2g

FEATURES = tuple(_v2g.EnvCore.features())


class PricingEnv(gym.Env):  # type: ignore[misc]
    """The EVA's pricing problem, one slot per step (module docs).

    fleet, grid, scenario, **params: as :func:`v2g.simulate` (default: the shipped case
    study). ``optimum``: ``"exact"`` (default), ``"grid"`` or ``None``.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        fleet: Any = None,
        grid: Any = None,
        *,
        scenario: Any = None,
        optimum: Optional[str] = "exact",
        **params: Any,
    ) -> None:
        super().__init__()
        if fleet is None:
            fleet_csv, grid_csv = _v2g.case_study_csv()
            fleet_arg: Any = ("sustech.csv", fleet_csv.encode())
            grid_arg: Any = ("sustech_grid.csv", grid_csv.encode()) if grid is None else _grid_arg(grid)
        else:
            fleet_arg = _table_arg(fleet, "fleet", FLEET_OPTIONAL)
            grid_arg = _grid_arg(grid)
        path, keys = _scenario_args(scenario, params)
        self.core = _v2g.EnvCore(fleet_arg, grid_arg, path, keys)
        if optimum not in ("exact", "grid", None):
            raise ValueError(f"optimum must be 'exact', 'grid' or None, not {optimum!r}")
        self.optimum_solver = optimum
        lo, hi = self.core.action_bounds
        self.action_space = spaces.Box(
            low=np.float32(lo), high=np.float32(hi), shape=(1,), dtype=np.float32
        )
        self.observation_space = spaces.Box(
            low=-np.inf, high=np.inf, shape=(len(FEATURES),), dtype=np.float32
        )

    def _obs(self) -> np.ndarray:
        return np.asarray(self.core.observe(), dtype=np.float32)

    def optimum(self, solver: str = "exact") -> Dict[str, Any]:
        """The current slot's optimum (``"exact"`` or ``"grid"``): ``p_d``, ``revenue``…"""
        return dict(self.core.optimum(solver))

    def reset(
        self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None
    ) -> Tuple[np.ndarray, Dict[str, Any]]:
        super().reset(seed=seed)
        self.core.reset()
        return self._obs(), {"slot": self.core.slot}

    def step(self, action: Any) -> Tuple[np.ndarray, float, bool, bool, Dict[str, Any]]:
        obs = self.core.observe()
        lo, hi = obs[3], obs[4]
        p = float(np.asarray(action, dtype=np.float64).reshape(-1)[0])
        if not np.isfinite(p):
            raise ValueError(f"the action must be a finite price, not {p}")
        p_d = min(max(p, lo), hi)
        info: Dict[str, Any] = {"slot": self.core.slot, "p_d": p_d}
        if self.optimum_solver is not None:
            best = self.core.optimum(self.optimum_solver)
            info["optimum_revenue"] = best["revenue"]
            info["optimum_p_d"] = best["p_d"]
        parts = dict(self.core.step(p_d))
        reward = float(parts["revenue"])
        info.update(parts)
        if self.optimum_solver is not None:
            info["regret"] = info["optimum_revenue"] - reward
        terminated = self.core.slot >= self.core.slots
        return self._obs(), reward, terminated, False, info


def _register() -> None:
    try:
        gym.register(id="v2g/Pricing-v0", entry_point="v2g.env:PricingEnv")
    except Exception:  # already registered (module reloaded)
        pass


_register()
