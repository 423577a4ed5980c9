"""Simulate the case study, plot p_d* against p_rt: python examples/python/case_study.py [PNG]"""
import sys

import matplotlib.pyplot as plt
import v2g

result = v2g.simulate("data/sustech.csv", solver="exact")   # grid file found beside it
df = result.slots.to_pandas()                                # one row per 15-minute slot
ax = df.plot(x="time", y=["p_rt", "p_d"], drawstyle="steps-post", ylabel="CNY/kWh")
ax.set_title(f"EVA revenue {result.summary['eva']['revenue']:.0f} CNY")
plt.savefig(sys.argv[1] if len(sys.argv) > 1 else "p_d_vs_p_rt.png")
print(df[["time", "p_rt", "p_d", "n_discharge"]].iloc[40:44].to_string(index=False))
