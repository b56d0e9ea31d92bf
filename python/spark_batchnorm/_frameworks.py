"""Statistics to and from Keras' and PyTorch's batch normalisation layers, which compute the same map at inference."""

from __future__ import annotations

import importlib
from typing import Any, Dict, Optional

import numpy as np


def _require(module: str, package: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"{what} needs {package}, which is not installed: pip install {package}") from e


def _vector(values: Any) -> list:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"expected one value per feature, got an array of shape {array.shape}")
    return array.tolist()


def keras_statistics(layer: Any) -> Dict[str, Any]:
    """``fromStatistics`` arguments from a built ``keras.layers.BatchNormalization`` over the last axis."""
    keras = _require("keras", "keras", "from_keras")
    if not isinstance(layer, keras.layers.BatchNormalization):
        raise TypeError(f"from_keras expects a keras.layers.BatchNormalization, got {type(layer).__name__}")
    if not layer.built:
        raise ValueError("from_keras: the layer is not built yet (call it on data or build it with an input shape)")
    convert = keras.ops.convert_to_numpy
    return {
        "mean": _vector(convert(layer.moving_mean)),
        "variance": _vector(convert(layer.moving_variance)),
        "gamma": _vector(convert(layer.gamma)) if layer.scale else [],
        "beta": _vector(convert(layer.beta)) if layer.center else [],
        "epsilon": float(layer.epsilon),
    }


def torch_statistics(module: Any) -> Dict[str, Any]:
    """``fromStatistics`` arguments from a ``torch.nn.BatchNorm1d`` that tracks running statistics."""
    torch = _require("torch", "torch", "from_torch")
    if not isinstance(module, torch.nn.BatchNorm1d):
        raise TypeError(f"from_torch expects a torch.nn.BatchNorm1d, got {type(module).__name__}")
    if module.running_mean is None or module.running_var is None:
        raise ValueError("from_torch: the module has no running statistics (track_running_stats=False)")

    def values(tensor: Any) -> list:
        return _vector(tensor.detach().cpu().double().numpy())

    return {
        "mean": values(module.running_mean),
        "variance": values(module.running_var),
        "gamma": values(module.weight) if module.weight is not None else [],
        "beta": values(module.bias) if module.bias is not None else [],
        "epsilon": float(module.eps),
    }


#: The widest model exported to a Keras or PyTorch layer. The export first copies the model's mean, variance, gamma and
#: beta out of the JVM as float64 arrays, then builds the layer's four dense arrays: at 2^22 features that is already
#: about 200 MB in Python, and a hashed model of 2^24 or 2^28 features would need gigabytes for a layer whose inputs
#: are almost all zero.
MAX_LAYER_FEATURES = 1 << 22


def check_layer_size(features: int, what: str) -> None:
    """Refuses, before anything is copied, a layer too wide to build in memory (see ``MAX_LAYER_FEATURES``)."""
    if features > MAX_LAYER_FEATURES:
        megabytes = features * 8 * 6 // 2**20
        raise ValueError(
            f"{what}: the model has {features:,} features, more than the {MAX_LAYER_FEATURES:,} a dense layer is"
            f" exported for; the export would copy about {megabytes:,} MB of statistics into Python and build a layer"
            " of as many weights per array. Reduce the dimension (for example FeatureHasher's numFeatures), normalise"
            " in Spark with the model itself (its transform keeps sparse rows sparse), or read its statistics with"
            " statisticsFrame (one row per stored feature)."
        )


def layer_values(
    mean: np.ndarray,
    variance: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    epsilon: float,
    center: bool,
    scale: bool,
) -> Dict[str, Any]:
    """
    The values a layer needs to compute ``gamma * (x - mean) / sqrt(variance + epsilon) + beta`` as the model does. The
    layers' own center/scale switches only drop beta/gamma, this library's also drop the mean (center = false) or the
    variance (scale = false): those become a zero mean and beta, or a variance of ``1 - epsilon`` and a gamma of one.
    """
    n = len(mean)
    if not center:
        mean, beta = np.zeros(n), np.zeros(n)
    if not scale:
        if not epsilon < 1.0:
            raise ValueError("a model with scale = false and epsilon >= 1 cannot be expressed as a layer")
        variance, gamma = np.full(n, 1.0 - epsilon), np.ones(n)
    return {"mean": mean, "variance": variance, "gamma": gamma, "beta": beta, "epsilon": epsilon}


def to_keras(values: Dict[str, Any], dtype: str) -> Any:
    keras = _require("keras", "keras", "to_keras")
    n = len(values["mean"])
    layer = keras.layers.BatchNormalization(epsilon=values["epsilon"], dtype=dtype)
    layer.build((None, n))
    layer.set_weights([np.asarray(values[k], dtype=dtype) for k in ("gamma", "beta", "mean", "variance")])
    layer.trainable = False
    return layer


def to_torch(values: Dict[str, Any], dtype: Optional[Any]) -> Any:
    torch = _require("torch", "torch", "to_torch")
    dtype = dtype or torch.float32
    n = len(values["mean"])
    module = torch.nn.BatchNorm1d(n, eps=values["epsilon"], dtype=dtype)
    module.load_state_dict(
        {
            "weight": torch.tensor(values["gamma"], dtype=dtype),
            "bias": torch.tensor(values["beta"], dtype=dtype),
            "running_mean": torch.tensor(values["mean"], dtype=dtype),
            "running_var": torch.tensor(values["variance"], dtype=dtype),
            "num_batches_tracked": torch.tensor(0),
        }
    )
    return module.eval()
