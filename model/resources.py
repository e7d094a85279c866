"""What a command may ask of this machine: memory and time, checked before any work.

A command estimates what its arguments need (the draws it keeps, the design matrix of a Sobol' analysis, the
chains of a calibration) and refuses, with the estimate in the message, what cannot fit in the memory available
now (``MemAvailable`` of ``/proc/meminfo``, or a container's cgroup limit when that is smaller; :data:`MEMORY_SHARE`
of it) or would take longer than :data:`MAX_HOURS`. The estimates are deliberately round: they decide between "can
run" and "cannot run here", not how fast.
"""

from __future__ import annotations

import os
from pathlib import Path

from model.errors import UsageError

#: The share of the available memory one command may plan to use.
MEMORY_SHARE = 0.8
#: The longest a single command may be planned to run; a longer Monte Carlo run is a batch of seeds.
MAX_HOURS = 24.0


def available_memory() -> int | None:
    """Bytes of memory available to this process now (``None`` when the system does not say)."""
    sizes = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                sizes.append(int(line.split()[1]) * 1024)
                break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = Path(limit_file).read_text().strip()
            if limit != "max" and int(limit) < 1 << 60:
                sizes.append(max(int(limit) - int(Path(usage_file).read_text().strip()), 0))
            break
        except (OSError, ValueError):
            continue
    if not sizes:
        try:
            sizes.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            return None
    return min(sizes)


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def check_memory(what: str, nbytes: float, advice: str) -> None:
    """Refuse a plan that needs ``nbytes`` when that is more than :data:`MEMORY_SHARE` of the available memory."""
    avail = available_memory()
    if avail is not None and nbytes > MEMORY_SHARE * avail:
        raise UsageError(f"{what} need about {format_bytes(nbytes)} of memory; this machine has "
                         f"{format_bytes(avail)} available now: {advice}")


def check_hours(what: str, hours: float, advice: str) -> None:
    """Refuse a plan estimated to take more than :data:`MAX_HOURS`."""
    if hours > MAX_HOURS:
        raise UsageError(f"{what} would take about {hours:,.0f} hours, more than the {MAX_HOURS:g} hours a command "
                         f"may be planned to run: {advice}")
