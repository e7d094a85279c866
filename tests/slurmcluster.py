"""A single-node SLURM cluster for the tests: munge and SLURM (Debian's ``munge`` and ``slurm-wlm``) started as root in
a temporary folder, bound to the loopback interface, stopped by process id.

:func:`single_node_slurm` installs the packages when they are missing and the machine allows it (root, apt-get),
writes a minimal ``slurm.conf`` (one node: this machine at 127.0.0.1, ``ProctrackType=proctrack/linuxproc``,
``TaskPlugin=task/none``, ``SelectType=select/cons_tres``; free ports; state, spool, logs and the munge socket in the
folder), starts ``munged``, ``slurmctld`` and ``slurmd``, waits until the node is idle and yields the environment
(``SLURM_CONF``) the SLURM commands need. On exit it cancels the jobs left and stops the three daemons it started,
by the process ids in their pid files; nothing else is touched. Without root or the packages, it says why
(:class:`Unavailable`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ("munge", "slurm-wlm")
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")


class Unavailable(RuntimeError):
    """SLURM cannot run here (the reason is the message)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_installed() -> None:
    if all(shutil.which(b) for b in BINARIES):
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise Unavailable("SLURM and munge are not installed and this is not root with apt-get "
                          f"(apt-get install {' '.join(PACKAGES)})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    proc = subprocess.run(["apt-get", "install", "-y", "-qq", *PACKAGES], capture_output=True, text=True, env=env,
                          timeout=600)
    if proc.returncode != 0 or not all(shutil.which(b) for b in BINARIES):
        raise Unavailable(f"apt-get install {' '.join(PACKAGES)} failed: {proc.stderr[-500:]}")


def _pid(path: Path, timeout: float = 20.0) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            time.sleep(0.1)
    raise Unavailable(f"{path.name}: the daemon wrote no pid file within {timeout:g} s")


def _stop(pid: int, timeout: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def single_node_slurm(folder: Path):
    """Start the cluster in ``folder``; yields the environment for SLURM commands and Dask (``SLURM_CONF`` set)."""
    if os.geteuid() != 0:
        raise Unavailable("slurmd must run as root to start jobs as the test's user; not root")
    ensure_installed()
    folder = Path(folder)
    for sub in ("state", "spool", "munge", "logs"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(folder / "munge", 0o700)
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    os.chmod(key, 0o600)
    sock = folder / "munge" / "munge.socket"
    host = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 1
    conf = folder / "slurm.conf"
    conf.write_text("\n".join([
        "ClusterName=npvrtest", f"SlurmctldHost={host}(127.0.0.1)", "AuthType=auth/munge", "CredType=cred/munge",
        f"AuthInfo=socket={sock}", "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core", "SchedulerType=sched/backfill",
        f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}", f"StateSaveLocation={folder / 'state'}",
        f"SlurmdSpoolDir={folder / 'spool'}", f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
        f"SlurmdPidFile={folder / 'slurmd.pid'}", f"SlurmctldLogFile={folder / 'logs' / 'slurmctld.log'}",
        f"SlurmdLogFile={folder / 'logs' / 'slurmd.log'}", "SlurmUser=root", "SlurmdUser=root", "ReturnToService=2",
        "MpiDefault=none", "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
        "KillWait=5", "MinJobAge=10",
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=16000 State=UNKNOWN",
        "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP", ""]), encoding="utf-8")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    pids: list[int] = []
    try:
        subprocess.run(["munged", "--force", f"--socket={sock}", f"--key-file={key}",
                        f"--pid-file={folder / 'munge' / 'munged.pid'}", f"--log-file={folder / 'logs' / 'munged.log'}",
                        f"--seed-file={folder / 'munge' / 'munged.seed'}"], check=True, env=env, timeout=30,
                       capture_output=True)
        pids.append(_pid(folder / "munge" / "munged.pid"))
        subprocess.run(["slurmctld", "-f", str(conf)], check=True, env=env, timeout=30, capture_output=True)
        pids.append(_pid(folder / "slurmctld.pid"))
        subprocess.run(["slurmd", "-f", str(conf)], check=True, env=env, timeout=30, capture_output=True)
        pids.append(_pid(folder / "slurmd.pid"))
        end = time.monotonic() + 60
        while True:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=env,
                                   timeout=30).stdout.strip()
            if state == "idle":
                break
            if time.monotonic() > end:
                raise Unavailable(f"the node did not become idle (state {state!r}; logs in {folder / 'logs'})")
            time.sleep(0.5)
        yield env
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(["scancel", "--full", "--user", "root"], env=env, timeout=30, capture_output=True)
        for pid in reversed(pids):
            _stop(pid)
