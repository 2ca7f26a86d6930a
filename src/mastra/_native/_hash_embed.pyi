import numpy as np
import numpy.typing as npt

def hash_features(
    texts: list[str], rows: npt.NDArray[np.float32], ngrams: tuple[int, ...]
) -> None: ...
