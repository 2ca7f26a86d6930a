from typing import Any

KINDS: dict[str, int]

def level() -> str: ...
def set_level(name: str) -> str: ...
def kernels() -> dict[str, str]: ...
def search(
    matrix: Any,
    kind: int,
    queries: Any,
    k: int,
    metric: int,
    normalized: bool,
    mask: Any,
    query_sq: Any,
    row_sq: Any,
    offset: float,
    threads: int,
    out_ids: Any,
    out_scores: Any,
) -> None: ...
