"""Matplotlib counterparts of the case study's Figs. 3–5 (the CLI draws them as SVG)."""

from __future__ import annotations

from typing import Any, Tuple

SLOT_H = 0.25


def plot(result: Any) -> Tuple[Any, Any, Any]:
    import matplotlib.pyplot as plt

    s = result.slots
    g = result.grid
    cur = result.currency
    t = s.column("time").to_numpy()
    col = lambda name: s.column(name).to_numpy()  # noqa: E731

    fig3, ax = plt.subplots(figsize=(9.6, 5.4))
    ax.step(t, g.column("base_load_kw").to_numpy(), where="post", label="base load (kW)")
    ax.step(t, col("e_limit_kwh") / SLOT_H, where="post", label="auxiliary demand E_limit (kW)")
    ax.step(t, col("discharge_kwh") / SLOT_H, where="post", label="V2G discharge (kW)")
    ax.set_title("Fig. 3: load and auxiliary-service demand")
    ax.set_xlabel("time")
    ax.set_ylabel("kW")
    ax.legend()
    fig3.autofmt_xdate()

    fig4, ax = plt.subplots(figsize=(9.6, 5.4))
    ax.step(t, col("charge_kwh") / SLOT_H, where="post", label="charging (kW)")
    ax.step(t, -col("discharge_kwh") / SLOT_H, where="post", label="discharging (kW)")
    ax.set_ylabel("kW")
    ax.set_xlabel("time")
    ax2 = ax.twinx()
    ax2.step(t, col("p_rt"), where="post", color="black", label="p_rt")
    # Only the price game has p_d* (docs/model.md §10): the other policies' column is
    # empty (nulls), and the figure draws no line for it, as the CLI's Fig. 4.
    if s.column("p_d").null_count < s.num_rows:
        ax2.step(t, col("p_d"), where="post", color="red", label="p_d*")
    ax2.set_ylabel(f"{cur}/kWh")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1])
    ax.set_title("Fig. 4: power and prices")
    fig4.autofmt_xdate()

    fig5, ax = plt.subplots(figsize=(9.6, 5.4))
    for name, label in [
        ("revenue", "R"),
        ("r_service", "R_service"),
        ("r_grid", "R_grid"),
        ("c_v2g", "-C_V2G"),
        ("c_limit", "-C_limit"),
    ]:
        v = col(name)
        ax.step(t, -v if label.startswith("-") else v, where="post", label=label)
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_ylabel(f"{cur} per slot")
    ax.set_xlabel("time")
    ax.set_title("Fig. 5: EVA revenue and costs")
    ax.legend()
    fig5.autofmt_xdate()
    return fig3, fig4, fig5
