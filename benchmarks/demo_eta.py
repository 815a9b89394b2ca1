"""How long the demo takes, and how well its ETA foretold that.

Runs ``facetwin.run_demo`` (the README's ``facetwin demo``, every default) once and
records each "demo" progress event (``facetwin.demo.DemoClock``): when it came and the
ETA it gave. Afterwards, with the real end known, it reports for every event from 10 %
of the run's time on:

- the end the ETA promised (elapsed + ETA) against the real end, as a share of the real
  duration (the ETA "within 30 % of the real time" of issue 18), and
- the ETA against the real time left, as a share of that time, while at least 10 % of the
  run was still to come (closer to the end a second is a large share of what is left).

It also prints wall and CPU time for the whole run and for each stage (extraction,
training, closing: conversions and figure), and writes every event to --json.

Run: python benchmarks/demo_eta.py [--output DIR] [--json FILE] [--steps N]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from pathlib import Path


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="demo folder. Default: a temporary one")
    parser.add_argument("--json", type=Path, help="write the events and the summary here")
    parser.add_argument("--steps", type=int, help="training steps. Default: the demo's")
    args = parser.parse_args()

    from facetwin.demo import DEMO_STEPS, run_demo

    events: list[dict] = []
    stages: dict[str, list[float]] = {}  # stage -> [first wall, last wall, first cpu, last cpu]
    started, cpu0 = time.perf_counter(), _cpu_s()

    def record(event) -> None:
        now, cpu = time.perf_counter() - started, _cpu_s() - cpu0
        if event.stage == "demo":
            events.append({"t": now, "cpu": cpu, "percent": event.done, "eta": event.remaining})
        else:
            span = stages.setdefault(event.stage, [now, now, cpu, cpu])
            span[1], span[3] = now, cpu

    with tempfile.TemporaryDirectory() as tmp:
        out = args.output or Path(tmp) / "demo"
        run_demo(out, steps=args.steps or DEMO_STEPS, progress=record)
    total, cpu_total = time.perf_counter() - started, _cpu_s() - cpu0

    judged = [e for e in events if e["t"] >= 0.1 * total]
    end_error = [abs(e["t"] + e["eta"] - total) / total for e in judged]
    left_error = [abs(e["eta"] - (total - e["t"])) / (total - e["t"]) for e in judged if total - e["t"] >= 0.1 * total]
    at_10 = judged[0] if judged else None
    summary = {
        "cpu": _cpu_name(),
        "steps": args.steps or DEMO_STEPS,
        "wall_s": round(total, 1),
        "cpu_s": round(cpu_total, 1),
        "stages": {k: {"wall_s": round(v[1] - v[0], 1), "cpu_s": round(v[3] - v[2], 1)} for k, v in stages.items()},
        "closing_wall_s": round(total - stages["train"][1], 1) if "train" in stages else None,
        "events": len(events),
        "eta_at_10_percent_s": None if at_10 is None else round(at_10["eta"], 1),
        "end_error_max": round(max(end_error), 3) if end_error else None,
        "end_error_median": round(sorted(end_error)[len(end_error) // 2], 3) if end_error else None,
        "left_error_max": round(max(left_error), 3) if left_error else None,
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "events": events}, indent=1))


if __name__ == "__main__":
    main()
