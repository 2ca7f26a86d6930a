import logging
import os

import pytest
from hypothesis import settings


@pytest.fixture(autouse=True)
def _restore_mastra_logger():
    """configure_logging changes the process-wide 'mastra' logger; undo it after each test."""
    logger = logging.getLogger("mastra")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


# CI replays the same examples every run (reproducible verdicts); locally each run explores new
# ones. Failures found locally are kept in .hypothesis/ and replayed first.

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
