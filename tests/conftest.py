import logging

import pytest


@pytest.fixture(autouse=True)
def _restore_mastra_logger():
    """configure_logging changes the process-wide 'mastra' logger; undo it after each test."""
    logger = logging.getLogger("mastra")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved
