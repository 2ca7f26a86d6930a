"""Durable workflows: typed steps composed into graphs, with suspend and resume, durable
timers and events, leases that keep one executor per run, recovery of runs whose process
died, and queues served by a fleet of workers on SQLite or PostgreSQL."""

from mastra.workflows.cron import Cron
from mastra.workflows.persist import Durability
from mastra.workflows.run import Run, WorkflowEvent, WorkflowResult
from mastra.workflows.step import Step, StepContext, StepResult, step
from mastra.workflows.worker import Queue, Schedule, Worker
from mastra.workflows.workflow import Workflow

__all__ = [
    "Cron",
    "Durability",
    "Queue",
    "Run",
    "Schedule",
    "Step",
    "StepContext",
    "StepResult",
    "Worker",
    "Workflow",
    "WorkflowEvent",
    "WorkflowResult",
    "step",
]
