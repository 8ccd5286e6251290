"""Between the service's own tensors and a graph's conventions: the one place where they are converted.

The routes, the noise formula and the codecs speak one canonical form; the manifest says what the ONNX file
takes and returns (schema v2 allows the conventions of generators trained elsewhere):

==========  =========================================  ===================================================
role        canonical (service side)                   graph side (manifest)
==========  =========================================  ===================================================
noise       (n, latent_dim) float32                    (n, *trailing) in its dtype, e.g. (n, 100, 1, 1)
label       (n,) int64 class indices                   int64 / int32 indices, or float one-hot (n, K)
image in    (n, C, H, W) float32 in input_range        NCHW or NHWC, in its dtype
image out   (n, C, H, W) in output_range               NCHW or NHWC
==========  =========================================  ===================================================

Reshaping the noise keeps the documented formula: image i of seed s draws the same values, whatever the shape.
The batcher carries graph-side tensors (so /v2 infer takes and returns the graph's own), and the finishers turn
output rows back into canonical images with `output_nchw` before encoding.
"""

from __future__ import annotations

import numpy as np

from service.manifest import Manifest, Role, TensorSpec

Inputs = dict[str, np.ndarray]


def noise_feed(manifest: Manifest, noise: np.ndarray) -> np.ndarray:
    """(n, latent_dim) -> the graph's noise tensor: reshaped to its trailing shape, in its dtype."""
    spec = manifest.inputs[Role.noise]
    trailing = [int(d) for d in spec.shape[1:]]
    return noise.reshape(noise.shape[0], *trailing).astype(spec.dtype, copy=False)


def label_feed(manifest: Manifest, labels: np.ndarray) -> np.ndarray:
    """(n,) int64 class indices -> int64 / int32 indices, or a float one-hot (n, num_classes)."""
    spec = manifest.inputs[Role.label]
    if manifest.label_encoding == "onehot":
        onehot = np.zeros((labels.shape[0], manifest.num_classes or 0), dtype=spec.dtype)
        onehot[np.arange(labels.shape[0]), labels] = 1
        return onehot
    return labels.astype(spec.dtype, copy=False)


def generator_feeds(manifest: Manifest, noise: np.ndarray, labels: np.ndarray | None) -> Inputs:
    """Canonical noise (and labels, for a conditional model) -> the graph's input tensors by name."""
    feeds = {manifest.inputs[Role.noise].name: noise_feed(manifest, noise)}
    if labels is not None:
        feeds[manifest.inputs[Role.label].name] = label_feed(manifest, labels)
    return feeds


def _to_layout(spec: TensorSpec, nchw: np.ndarray) -> np.ndarray:
    return nchw.transpose(0, 2, 3, 1) if spec.layout == "NHWC" else nchw


def image_feeds(manifest: Manifest, image: np.ndarray) -> Inputs:
    """A canonical (n, C, H, W) image in input_range -> the translator's input tensor by name."""
    spec = manifest.inputs[Role.image]
    return {spec.name: np.ascontiguousarray(_to_layout(spec, image)).astype(spec.dtype, copy=False)}


def output_nchw(manifest: Manifest, rows: np.ndarray) -> np.ndarray:
    """Output rows as the graph returns them -> (n, C, H, W), still in output_range."""
    return rows.transpose(0, 3, 1, 2) if manifest.outputs["image"].layout == "NHWC" else rows


def input_size(manifest: Manifest) -> tuple[int, int] | None:
    """(H, W) a translator needs when its graph fixes them; None when any size goes."""
    _, h, w = manifest.inputs[Role.image].chw()
    return (h, w) if isinstance(h, int) and isinstance(w, int) else None


def dummy_feeds(manifest: Manifest, batch: int) -> Inputs:
    """Zeros (class 0) of the graph's names, dtypes and shapes: for warm-up and import checks."""
    if manifest.input_image is not None:
        image = manifest.input_image
        return image_feeds(manifest, np.zeros((batch, image.channels, image.height, image.width), np.float32))
    labels = np.zeros((batch,), np.int64) if Role.label in manifest.inputs else None
    return generator_feeds(manifest, np.zeros((batch, manifest.latent_dim or 0), np.float32), labels)


def output_shape(manifest: Manifest, batch: int) -> tuple[int, ...]:
    """The shape a generator's image output has at `batch` rows, in the graph's layout."""
    image = manifest.image
    if manifest.outputs["image"].layout == "NHWC":
        return (batch, image.height, image.width, image.channels)
    return (batch, image.channels, image.height, image.width)
