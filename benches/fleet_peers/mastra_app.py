"""The app ``mastra worker`` loads: the ``fleet`` workflow on PostgreSQL at ``FLEET_DSN``,
its lease ``FLEET_LEASE`` seconds (default 30)."""

import os

from fleet_peers.flows import fleet
from mastra import Mastra
from mastra.storage import PostgresStorage

storage = PostgresStorage(os.environ["FLEET_DSN"])
mastra = Mastra(
    workflows=[fleet(lease_seconds=float(os.environ.get("FLEET_LEASE") or 30))], storage=storage
)
