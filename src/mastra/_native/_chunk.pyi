from typing import Any, TypeVar

_C = TypeVar("_C")

def recursive_spans(
    text: str, size: int, overlap: int, separators: list[str]
) -> list[tuple[int, int]]: ...
def recursive_chunks(
    text: str,
    size: int,
    overlap: int,
    separators: list[str],
    template: dict[str, Any],
    chunk_type: type[_C],
) -> list[_C]: ...
def chunks_at(
    text: str, spans: list[tuple[int, int]], template: dict[str, Any], chunk_type: type[_C]
) -> list[_C]: ...
