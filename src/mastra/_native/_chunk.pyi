from typing import Any, TypeVar

_C = TypeVar("_C")

def recursive_spans(
    text: str, size: int, overlap: int, separators: list[str]
) -> list[tuple[int, int]]: ...
def recursive_texts(
    text: str, size: int, overlap: int, separators: list[str]
) -> list[str]: ...
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
def scan_level() -> str: ...
def set_scan_level(name: str) -> str: ...
