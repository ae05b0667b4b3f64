"""Run `python -m MODULE ARGS` under cProfile, timing the main thread's CPU rather than the wall clock.

    python bench/profile_cpu.py OUT.prof -m commandlang serve ...

`bench_e2e.py` starts the service this way when `BENCH_PROFILE` is set. Why not `python -m
cProfile`: its timer is the wall clock, so on a shared machine every moment the process waits for
a core is charged to whatever function was running (measured here at a load average of 8 on two
cores: the same code's profile swung by 2x between runs). `time.thread_time` counts only the CPU
the Trio thread used, so two runs under different loads give comparable tables (`profile_table.py`).
It costs a system call per profiled call, so absolute times are inflated several-fold: read shares
and the before/after ratio, not milliseconds. SQLite's worker threads are not profiled.
"""

from __future__ import annotations

import cProfile
import runpy
import sys
import time

if __name__ == "__main__":
    out, flag, module, *rest = sys.argv[1:]
    if flag != "-m":
        raise SystemExit("usage: profile_cpu.py OUT.prof -m MODULE [ARGS...]")
    sys.argv = [module, *rest]
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        profile.disable()
        profile.dump_stats(out)
