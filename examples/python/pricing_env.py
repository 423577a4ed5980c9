"""A random pricing agent against the paper's optimum in v2g.env.PricingEnv (no training).

python examples/python/pricing_env.py [SEED]
"""
import sys

import v2g.env

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
env = v2g.env.PricingEnv()                 # the shipped case study, 96 slots, 2,000 EVs
env.action_space.seed(seed)
obs, info = env.reset(seed=seed)
random_total = optimum_total = 0.0
done = False
while not done:
    obs, reward, done, truncated, info = env.step(env.action_space.sample())
    random_total += reward
    optimum_total += info["optimum_revenue"]   # the exact Stackelberg optimum, same state
print(f"random agent:  {random_total:10.2f} CNY")
print(f"exact optimum: {optimum_total:10.2f} CNY (per-slot, from the random agent's states)")
print(f"regret:        {optimum_total - random_total:10.2f} CNY")
