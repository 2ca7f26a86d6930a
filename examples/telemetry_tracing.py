"""Trace a small concurrent job and read the spans back from a JSONL file.

Run: python examples/telemetry_tracing.py
"""

import asyncio
import tempfile
from pathlib import Path

from mastra.telemetry import JsonlExporter, Telemetry, read_jsonl


async def main() -> None:
    path = Path(tempfile.mkdtemp()) / "spans.jsonl"
    telemetry = Telemetry("example", exporters=[JsonlExporter(path)])
    tracer = telemetry.tracer

    @tracer.span("fetch")
    async def fetch(doc: int) -> int:
        await asyncio.sleep(0.01 * doc)
        return doc * 10

    with tracer.span("job", docs=3):
        results = await asyncio.gather(*(fetch(i) for i in range(3)))
    telemetry.shutdown()

    print("results:", results)
    for span in read_jsonl(path):
        parent = span.parent_id or "-"
        print(f"{span.name:<6} {span.duration_ms:7.2f} ms  parent={parent}  status={span.status}")


if __name__ == "__main__":
    asyncio.run(main())
