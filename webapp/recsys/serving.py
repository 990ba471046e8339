"""A trained rating model's forward pass in NumPy, for the web process (which never loads TensorFlow).

A run stores one vector per reader and per book (``[bias, gmf..., mlp...]`` as float32
bytes) and the shared weights (global mean, dense layers) as one ``.npz`` archive; the
site predicts "you'd rate this N★" for one reader and book from those alone.
"""

from __future__ import annotations

import io

import numpy as np


class RatingPredictor:
    """rating = mean + user bias + item bias + w · [gmf(u) ⊙ gmf(i), MLP(mlp(u) ‖ mlp(i))] + b, clipped to 1-5."""

    def __init__(
        self,
        mean: float,
        factors: int,
        kernels: list[np.ndarray],
        biases: list[np.ndarray],
        out_kernel: np.ndarray,
        out_bias: float,
    ) -> None:
        self.mean = float(mean)
        self.factors = int(factors)
        self.kernels = [np.asarray(k, dtype=np.float32) for k in kernels]
        self.biases = [np.asarray(b, dtype=np.float32) for b in biases]
        self.out_kernel = np.asarray(out_kernel, dtype=np.float32).ravel()
        self.out_bias = float(out_bias)

    @property
    def vector_size(self) -> int:
        """Length of each reader's and book's vector: bias, GMF part, MLP part."""
        return 1 + 2 * self.factors

    def predict(self, user_vectors: np.ndarray, item_vectors: np.ndarray) -> np.ndarray:
        """Predicted ratings for pairs of rows of ``user_vectors`` and ``item_vectors``."""
        users = np.atleast_2d(np.asarray(user_vectors, dtype=np.float32))
        items = np.atleast_2d(np.asarray(item_vectors, dtype=np.float32))
        f = self.factors
        gmf = users[:, 1 : 1 + f] * items[:, 1 : 1 + f]
        hidden = np.concatenate([users[:, 1 + f :], items[:, 1 + f :]], axis=1)
        for kernel, bias in zip(self.kernels, self.biases, strict=True):
            hidden = np.maximum(hidden @ kernel + bias, 0.0)
        interaction = np.concatenate([gmf, hidden], axis=1) @ self.out_kernel + self.out_bias
        return np.clip(self.mean + users[:, 0] + items[:, 0] + interaction, 1.0, 5.0)

    def to_bytes(self) -> bytes:
        """The shared weights as an ``.npz`` archive."""
        buffer = io.BytesIO()
        arrays = {f"kernel_{i}": k for i, k in enumerate(self.kernels)}
        arrays |= {f"bias_{i}": b for i, b in enumerate(self.biases)}
        np.savez(
            buffer,
            mean=np.float64(self.mean),
            factors=np.int64(self.factors),
            out_kernel=self.out_kernel,
            out_bias=np.float64(self.out_bias),
            **arrays,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> RatingPredictor:
        """Read weights written by :meth:`to_bytes`."""
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            layers = sum(1 for name in archive.files if name.startswith("kernel_"))
            return cls(
                mean=float(archive["mean"]),
                factors=int(archive["factors"]),
                kernels=[archive[f"kernel_{i}"] for i in range(layers)],
                biases=[archive[f"bias_{i}"] for i in range(layers)],
                out_kernel=archive["out_kernel"],
                out_bias=float(archive["out_bias"]),
            )


def vector_to_bytes(vector: np.ndarray) -> bytes:
    """A vector as little-endian float32 bytes, for the database."""
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes) -> np.ndarray:
    """A vector written by :func:`vector_to_bytes`."""
    return np.frombuffer(data, dtype="<f4")
