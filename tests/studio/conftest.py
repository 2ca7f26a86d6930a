from tests.server.conftest import client  # noqa: F401  (the real-HTTP server fixture)
