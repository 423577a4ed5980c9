"""PricingEnv (check_env, a seeded episode, the optimum replaying simulate), the
examples in examples/python/, and Ctrl-C during a long run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import v2g
from conftest import ROOT

gym = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

import v2g.env  # noqa: E402


def test_check_env_passes_on_the_case_study():
    env = v2g.env.PricingEnv()
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (len(v2g.env.FEATURES),)
    assert env.core.n_evs == 2000 and env.core.slots == 96


def episode(env, seed):
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    rewards, infos, observations = [], [], [obs]
    done = False
    while not done:
        obs, r, done, truncated, info = env.step(env.action_space.sample())
        assert not truncated
        rewards.append(r)
        infos.append(info)
        observations.append(obs)
    return np.array(rewards), infos, np.array(observations)


def test_a_seeded_episode_is_reproducible_and_the_optimum_bounds_every_reward():
    env = v2g.env.PricingEnv()
    r1, infos, obs = episode(env, 3)
    r2, _, obs2 = episode(env, 3)
    assert len(r1) == 96 and np.array_equal(r1, r2) and np.array_equal(obs, obs2)
    assert not np.array_equal(r1, episode(env, 4)[0])
    for i, info in enumerate(infos):
        assert info["slot"] == i
        assert info["revenue"] == r1[i]
        assert info["regret"] == info["optimum_revenue"] - r1[i]
        # The exact optimum is the supremum of R over the range, so no price beats it.
        assert info["optimum_revenue"] >= r1[i] - 1e-9 * max(1.0, abs(r1[i]))
        lo, hi = obs[i][3], obs[i][4]
        assert lo - 1e-6 <= info["p_d"] <= hi + 1e-6
    assert obs[-1][0] == 1.0 and obs[0][0] == 0.0


@pytest.mark.parametrize("solver", ["grid", "exact"])
def test_playing_the_optimum_every_slot_replays_simulate(solver):
    env = v2g.env.PricingEnv(optimum=solver)
    env.reset()
    slots = v2g.simulate("data/sustech.csv", solver=solver).slots.to_pylist()
    for s in slots:
        best = env.optimum(solver)
        obs, reward, done, _, info = env.step(np.array([best["p_d"]], dtype=np.float64))
        assert info["p_d"] == s["p_d"]
        assert info["n_discharge"] == s["n_discharge"] and info["n_charge"] == s["n_charge"]
        if solver == "exact":
            # Both sum the followers' own responses in EV order: the same bits.
            assert reward == s["revenue"] and info["discharge_kwh"] == s["discharge_kwh"], s["slot"]
        else:
            # The grid search sums the dischargers in its sorted order, the environment in
            # EV order (as settlement pays): equal up to rounding of the sum.
            assert reward == pytest.approx(s["revenue"], rel=1e-12, abs=1e-9), s["slot"]
            assert info["discharge_kwh"] == pytest.approx(s["discharge_kwh"], rel=1e-12, abs=1e-9)
    assert done


def test_the_environment_takes_the_same_inputs_as_simulate():
    env = v2g.env.PricingEnv("data/example.csv", slots=8, w_grid=1.2, optimum=None)
    obs, _ = env.reset()
    steps = 0
    done = False
    while not done:
        obs, _, done, _, info = env.step(env.action_space.high)
        assert "optimum_revenue" not in info
        steps += 1
    assert steps == 8
    with pytest.raises(v2g.InputError):
        v2g.env.PricingEnv("data/example.csv", w_grid=-1)
    assert gym.make("v2g/Pricing-v0", fleet="data/example.csv").unwrapped.core.n_evs == 6


def run_example(*args):
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True)


def test_the_guide_example_runs(tmp_path):
    p = run_example("examples/python/case_study.py", str(tmp_path / "fig.png"))
    assert (tmp_path / "fig.png").stat().st_size > 10_000
    assert "p_rt" in p.stdout and "p_d" in p.stdout


def test_the_pricing_example_runs():
    p = run_example("examples/python/pricing_env.py", "1")
    lines = p.stdout.splitlines()
    assert lines[0].startswith("random agent:") and lines[2].startswith("regret:")
    assert float(lines[2].split()[1]) > 0


# A long run: since the grid search's branch and bound, the case study's day takes well
# under a second even at epsilon 1e-7, so the run is a generated day of 200,000 EVs (about
# 6 s after its first slot on two cores).
CHILD = r"""
import sys, v2g
def progress(done, total):
    if done == 1:
        print("started", flush=True)
fleet, grid = v2g.generate_fleet(200_000), v2g.generate_grid()
try:
    v2g.simulate(fleet, grid, epsilon=1e-6, progress=progress, out=sys.argv[1])
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_ctrl_c_stops_a_long_run_cleanly(tmp_path):
    out = tmp_path / "o"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started"
    time.sleep(0.2)
    t = time.monotonic()
    child.send_signal(signal.SIGINT)
    rest = child.communicate(timeout=60)[0]
    assert rest.strip() == "interrupted"
    assert child.returncode == 0
    assert time.monotonic() - t < 30
    assert not out.exists()


def test_the_guide_shows_the_example_verbatim():
    page = (ROOT / "docs" / "guide" / "python.md").read_text()
    marker = "<!-- examples/python/case_study.py -->\n```python\n"
    block = page.split(marker, 1)[1].split("```", 1)[0]
    assert block == (ROOT / "examples" / "python" / "case_study.py").read_text()
