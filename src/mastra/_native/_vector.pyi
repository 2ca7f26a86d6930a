import numpy as np
import numpy.typing as npt

KINDS: dict[str, int]

def level() -> str: ...
def set_level(name: str) -> str: ...
def kernels() -> dict[str, str]: ...
def search(
    matrix: npt.NDArray[np.float32] | npt.NDArray[np.uint8],
    kind: int,
    queries: npt.NDArray[np.float32],
    k: int,
    metric: int,
    normalized: bool,
    mask: npt.NDArray[np.uint8] | None,
    query_sq: npt.NDArray[np.float32] | None,
    row_sq: npt.NDArray[np.float32] | None,
    offset: float,
    threads: int,
    out_ids: npt.NDArray[np.int64],
    out_scores: npt.NDArray[np.float32],
) -> None: ...
