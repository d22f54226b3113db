"""`make report`: runs every benchmark and writes one markdown report, reports/benchmark.md:
gas per operation (against the targets and the floor), end-to-end latency and throughput with
their targets and where the time of a read and an add goes, the scale benchmark's pages and event
index with their targets, and the web app's memory under load. Each part starts services of its
own. Paste the output into the README's "Benchmark report" section.
"""

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone

from scripts import benchmark, scale_benchmark, web_load
from scripts.localchain import ROOT

REPORT = ROOT / "reports" / "benchmark.md"


def gas_table() -> str:
    result = subprocess.run([sys.executable, "-m", "scripts.toolchain", "run", "scripts/gas_report.py",
                             "--network", "carechain-test"], cwd=ROOT, capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    table = [line for line in lines if line.startswith("|")]
    notes = [line for line in lines if line.startswith("Access checks")]
    return "\n".join(table + [""] + notes)


def main() -> int:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        ("Gas per operation (local chain, hardfork shanghai; floor: 21,000 per transaction plus "
         "22,100 per new storage slot)", gas_table),
        ("Latency and throughput (end to end: chain, IPFS node, cryptography)",
         lambda: benchmark.on_own_stack(benchmark.run)),
        ("Scale", lambda: benchmark.on_own_stack(scale_benchmark.run)),
        ("Web app memory", lambda: benchmark.on_own_stack(web_load.run)),
    ]
    sections = [f"Measured {when} on {platform.machine()} with {os.cpu_count()} cores, "
                f"Python {platform.python_version()}."]
    for title, produce in parts:
        print(f"running: {title} ...", flush=True)
        sections.append(f"### {title}\n\n{produce()}")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n\n".join(sections) + "\n")
    print(REPORT.read_text())
    print(f"written to {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
