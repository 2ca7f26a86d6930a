import numpy as np
import numpy.typing as npt

KINDS: dict[str, int]
INT8_MAX_DIMENSION: int

def level() -> str: ...
def int8_variant() -> str: ...
def set_level(name: str, int8_dot: bool = True) -> str: ...
def int8_dot_available(name: str) -> bool: ...
def kernels() -> dict[str, str]: ...
def search(
    matrix: npt.NDArray[np.float32] | npt.NDArray[np.uint8],
    kind: int,
    queries: npt.NDArray[np.float32],
    qcodes: npt.NDArray[np.int8] | None,
    qscale: npt.NDArray[np.float32] | None,
    offsets: npt.NDArray[np.float32] | None,
    k: int,
    metric: int,
    normalized: bool,
    mask: npt.NDArray[np.uint8] | None,
    rows: npt.NDArray[np.int64] | None,
    query_sq: npt.NDArray[np.float32] | None,
    row_sq: npt.NDArray[np.float32] | None,
    threads: int,
    out_ids: npt.NDArray[np.int64],
    out_scores: npt.NDArray[np.float32],
) -> None: ...
