"""Durable workflows: typed steps composed into graphs, with suspend and resume, leases that
keep one executor per run, and recovery of runs whose process died."""

from mastra.workflows.persist import Durability
from mastra.workflows.run import Run, WorkflowEvent, WorkflowResult
from mastra.workflows.step import Step, StepContext, StepResult, step
from mastra.workflows.workflow import Workflow

__all__ = [
    "Durability",
    "Run",
    "Step",
    "StepContext",
    "StepResult",
    "Workflow",
    "WorkflowEvent",
    "WorkflowResult",
    "step",
]
