"""What benches/test_workflow_fleet.py runs on both sides, ours and DBOS Transact's:

- ``flows``: our workflows — ``fleet`` (three no-op steps, the queue benchmark) and ``chain``
  (N no-op steps, the per-step benchmark) — built on a given storage;
- ``mastra_app``: the Mastra the ``mastra worker`` processes load
  (``python -m mastra.cli worker fleet_peers.mastra_app:mastra``), storage from ``FLEET_DSN``;
- ``dbos_app``: the same workflows as DBOS ``@DBOS.workflow`` / ``@DBOS.step`` functions, and
  ``python -m fleet_peers.dbos_app EXECUTOR_ID`` a DBOS worker process on the queue ``QUEUE``.

With ``FLEET_LOG`` set (a folder), each step of a ``fleet`` run appends
``start <run> <step> <pid> <epoch seconds>`` to ``<folder>/<pid>.log`` as it starts; with
``FLEET_SLOW`` set (seconds), step ``a`` then sleeps that long — the recovery benchmark kills a
worker while its runs sit there.
"""

import os
import time
from pathlib import Path

QUEUE = "fleet"
STEPS = ("a", "b", "c")


class StepLog:
    """The optional step-start log and slow first step of ``fleet`` runs (see above)."""

    def __init__(self) -> None:
        folder = os.environ.get("FLEET_LOG")
        self.file = (
            open(Path(folder) / f"{os.getpid()}.log", "a", buffering=1)  # noqa: SIM115
            if folder
            else None
        )
        self.slow = float(os.environ.get("FLEET_SLOW") or 0)

    def started(self, run_id: str, step: str) -> float:
        """Log the start; how long this step should then sleep."""
        if self.file is not None:
            self.file.write(f"start {run_id} {step} {os.getpid()} {time.time()}\n")
        return self.slow if step == "a" else 0.0


def read_starts(folder: Path) -> list[tuple[str, str, int, float]]:
    """Every logged step start: (run, step, pid, epoch seconds)."""
    starts = []
    for path in folder.glob("*.log"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[0] == "start":
                starts.append((parts[1], parts[2], int(parts[3]), float(parts[4])))
    return starts
