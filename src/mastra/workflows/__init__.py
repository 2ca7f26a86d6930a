"""Durable workflows: typed steps composed into graphs, with suspend and resume."""

from mastra.workflows.step import Step, StepContext, StepResult, step
from mastra.workflows.workflow import Run, Workflow, WorkflowEvent, WorkflowResult

__all__ = [
    "Run",
    "Step",
    "StepContext",
    "StepResult",
    "Workflow",
    "WorkflowEvent",
    "WorkflowResult",
    "step",
]
