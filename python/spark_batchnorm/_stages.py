"""PySpark wrappers of the Java stages ``io.github.batchnorm.BatchNormalization`` and ``BatchNormalizationModel``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Sequence

import numpy as np
from pyspark import keyword_only
from pyspark.ml.linalg import DenseVector, Vector
from pyspark.ml.util import JavaMLReadable, JavaMLWritable, MLReader
from pyspark.ml.wrapper import JavaEstimator, JavaModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import is_remote

from spark_batchnorm import _frameworks, _naming
from spark_batchnorm._params import _BatchNormalizationParams

if TYPE_CHECKING:
    from py4j.java_gateway import JavaObject

_CONNECT_ATTRIBUTES = (
    "Spark Connect lets a client read only the model attributes on its server's allow-list, which a library cannot"
    " extend; {what} is not on it. Use model.statisticsFrame(path) for the statistics, or a classic session."
)


_COLUMN_PARAMS = ("inputCol", "outputCol", "inputCols", "outputCols")


def _columns(columns: dict) -> dict:
    unknown = sorted(set(columns) - set(_COLUMN_PARAMS))
    if unknown:
        raise TypeError(f"unexpected keyword arguments {unknown}: give the columns as {', '.join(_COLUMN_PARAMS)}")
    return columns


def _require_classic(what: str) -> None:
    if is_remote():
        raise NotImplementedError(_CONNECT_ATTRIBUTES.format(what=what))


def _java_doubles(values: Sequence[float]) -> "JavaObject":
    from pyspark import SparkContext

    sc = SparkContext._active_spark_context
    assert sc is not None and sc._gateway is not None
    array = sc._gateway.new_array(sc._gateway.jvm.double, len(values))
    for i, v in enumerate(values):
        array[i] = float(v)
    return array


def _java_strings(values: Sequence[str]) -> "JavaObject":
    from pyspark import SparkContext

    sc = SparkContext._active_spark_context
    assert sc is not None and sc._gateway is not None
    array = sc._gateway.new_array(sc._gateway.jvm.java.lang.String, len(values))
    for i, v in enumerate(values):
        array[i] = v
    return array


class BatchNormalization(
    JavaEstimator["BatchNormalizationModel"],
    _BatchNormalizationParams,
    JavaMLReadable["BatchNormalization"],
    JavaMLWritable,
):
    """
    Batch normalisation as a Spark ML estimator: fits each feature's mean and variance in one pass, and its model maps
    each value to ``gamma * (x - mean) / sqrt(variance + epsilon) + beta``. A wrapper of the Java stage
    ``io.github.batchnorm.BatchNormalization``; the params, their docs and defaults are the Java stage's.

    >>> bn = BatchNormalization(inputCol="features", outputCol="normalized", varianceMode="sample")
    >>> model = bn.fit(df)  # doctest: +SKIP
    """

    @keyword_only
    def __init__(
        self,
        *,
        inputCol: Optional[str] = None,
        outputCol: Optional[str] = None,
        inputCols: Optional[List[str]] = None,
        outputCols: Optional[List[str]] = None,
        weightCol: Optional[str] = None,
        handleInvalid: Optional[str] = None,
        epsilon: Optional[float] = None,
        center: Optional[bool] = None,
        scale: Optional[bool] = None,
        gamma: Optional[List[float]] = None,
        beta: Optional[List[float]] = None,
        varianceMode: Optional[str] = None,
        aggregationDepth: Optional[int] = None,
        momentum: Optional[float] = None,
        summation: Optional[str] = None,
        groupCols: Optional[List[str]] = None,
        handleUnseenGroup: Optional[str] = None,
        minGroupCount: Optional[int] = None,
    ) -> None:
        super().__init__()
        self._java_obj = self._new_java_obj(_naming.java_class_name(BatchNormalization), self.uid)
        kwargs = self._input_kwargs
        self.setParams(**kwargs)

    @keyword_only
    def setParams(
        self,
        *,
        inputCol: Optional[str] = None,
        outputCol: Optional[str] = None,
        inputCols: Optional[List[str]] = None,
        outputCols: Optional[List[str]] = None,
        weightCol: Optional[str] = None,
        handleInvalid: Optional[str] = None,
        epsilon: Optional[float] = None,
        center: Optional[bool] = None,
        scale: Optional[bool] = None,
        gamma: Optional[List[float]] = None,
        beta: Optional[List[float]] = None,
        varianceMode: Optional[str] = None,
        aggregationDepth: Optional[int] = None,
        momentum: Optional[float] = None,
        summation: Optional[str] = None,
        groupCols: Optional[List[str]] = None,
        handleUnseenGroup: Optional[str] = None,
        minGroupCount: Optional[int] = None,
    ) -> "BatchNormalization":
        """Sets params for this estimator; only the ones given."""
        kwargs = self._input_kwargs
        return self._set(**kwargs)

    def _create_model(self, java_model: "JavaObject") -> "BatchNormalizationModel":
        return BatchNormalizationModel(java_model)

    @classmethod
    def read(cls) -> MLReader["BatchNormalization"]:
        """Returns a reader for estimators saved from Python, Java or Scala."""
        return _naming.reader(cls)


class BatchNormalizationModel(
    JavaModel,
    _BatchNormalizationParams,
    JavaMLReadable["BatchNormalizationModel"],
    JavaMLWritable,
):
    """
    A fitted batch normalisation (a wrapper of ``io.github.batchnorm.BatchNormalizationModel``). ``epsilon``, ``gamma``,
    ``beta``, ``center``, ``scale`` and ``varianceMode`` can still be set on it without refitting.

    On Spark Connect, ``fit``, ``transform``, ``save``, ``load`` and Pipelines work; the statistics are read with
    :py:meth:`statisticsFrame`, because Connect refuses to read other model attributes.
    """

    # Statistics and values in effect (classic sessions) ------------------------------------------------------------

    @property
    def mean(self) -> Vector:
        """
        Per-feature mean of the fitted data: a ``SparseVector`` of the stored features when the statistics store only
        some (a fit of a hashed column of more than 2^20 features; every other feature's mean is 0), else a
        ``DenseVector``.
        """
        _require_classic("mean")
        return self._call_java("mean")

    @property
    def variance(self) -> Vector:
        """Per-feature variance of the fitted data, in this model's ``varianceMode``; sparse or dense as ``mean``."""
        _require_classic("variance")
        self._transfer_params_to_java()
        return self._call_java("variance")

    @property
    def count(self) -> int:
        """Rows the statistics summarise (0 for statistics imported with :py:meth:`fromStatistics`)."""
        _require_classic("count")
        return int(self._call_java("count"))

    @property
    def numFeatures(self) -> int:
        """Number of features."""
        _require_classic("numFeatures")
        return int(self._call_java("numFeatures"))

    @property
    def gammaValues(self) -> DenseVector:
        """
        The per-feature gamma in effect: the param's value, or 1.0 for every feature when it is empty. Refused, with a
        message that says why, when the statistics store only some features and an array of every feature would not fit
        in the JVM (2^28 features are 2 GB of ones): use ``getGamma()`` then.
        """
        _require_classic("gammaValues")
        self._transfer_params_to_java()
        return self._call_java("gammaValues")

    @property
    def betaValues(self) -> DenseVector:
        """The per-feature beta in effect: the param's value, or 0.0 for every feature when it is empty."""
        _require_classic("betaValues")
        self._transfer_params_to_java()
        return self._call_java("betaValues")

    @property
    def groupCount(self) -> int:
        """Number of groups (0 for a model fitted without ``groupCols``)."""
        _require_classic("groupCount")
        return int(self._call_java("groupCount"))

    def groupStatistics(self) -> DataFrame:
        """
        The per-group statistics: the group columns, ``count`` (training rows) and the per-feature arrays ``mean`` and
        ``variance`` (in this model's ``varianceMode``). A distributed DataFrame; fails for a model without groups.
        """
        _require_classic("groupStatistics")
        self._transfer_params_to_java()
        jdf = self._java_obj.groupStatistics()
        return DataFrame(jdf, SparkSession.active())

    def toString(self) -> str:
        """The Java model's description: uid, number of features, count, epsilon, mean and variance (abbreviated)."""
        if not is_remote():
            self._transfer_params_to_java()
        return self._call_java("toString")

    def __str__(self) -> str:
        return self.toString()

    # Operations ----------------------------------------------------------------------------------------------------

    def update(self, dataset: DataFrame) -> "BatchNormalizationModel":
        """
        A new model whose statistics also cover ``dataset``: an exact merge, or a moving average when ``momentum`` is
        set. This model is left as it is.
        """
        _require_classic("update")
        self._transfer_params_to_java()
        return self._wrap(self._java_obj.update(dataset._jdf))

    def inverseTransform(self, dataset: DataFrame, restoredCols: Optional[Sequence[str]] = None) -> DataFrame:
        """
        Maps normalised values back, ``x = (y - b) / a``: reads the output column(s) and appends the restored values
        under the input column names, or under ``restoredCols``.
        """
        _require_classic("inverseTransform")
        self._transfer_params_to_java()
        jdf = self._java_obj.inverseTransform(dataset._jdf, _java_strings(list(restoredCols or [])))
        return DataFrame(jdf, dataset.sparkSession)

    def statisticsFrame(self, path: str) -> DataFrame:
        """
        The statistics as a DataFrame with one row per feature: ``feature``, ``count``, ``weightSum``, ``mean`` and
        ``variance`` (in this model's ``varianceMode``), plus ``gamma`` and ``beta`` in effect. Saves the model to
        ``path`` (overwriting it) and reads the statistics back from there, so it works in classic and Spark Connect
        sessions alike; ``path`` must be writable by the Spark driver (the Connect server).

        Statistics that store only some features (a fit of a hashed column of more than 2^20 features) give one row per
        stored feature; every other feature has ``count`` equal to the model's count, mean 0 and variance 0.
        """
        self.write().overwrite().save(path)
        return read_statistics(path, varianceMode=self.getVarianceMode(), gamma=self.getGamma(), beta=self.getBeta())

    @classmethod
    def fromStatistics(
        cls,
        mean: Sequence[float],
        variance: Sequence[float],
        gamma: Optional[Sequence[float]] = None,
        beta: Optional[Sequence[float]] = None,
        *,
        epsilon: float,
        varianceMode: str = "population",
    ) -> "BatchNormalizationModel":
        """
        A model from statistics trained elsewhere (Java's ``BatchNormalizationModel.fromStatistics``): it normalises
        with exactly these numbers. ``varianceMode`` is the convention of ``variance``: ``population`` for Keras'
        ``moving_variance``, ``sample`` for PyTorch's ``running_var``. Set ``inputCol`` or ``inputCols`` on it before
        transforming. Classic sessions only.
        """
        _require_classic("fromStatistics")
        from pyspark import SparkContext

        sc = SparkContext._active_spark_context
        if sc is None:
            raise RuntimeError("fromStatistics needs an active SparkSession with the spark-batchnorm jar.")
        java_class = getattr(sc._jvm, "io").github.batchnorm.BatchNormalizationModel
        java_model = java_class.fromStatistics(
            _java_doubles(list(mean)),
            _java_doubles(list(variance)),
            _java_doubles(list(gamma or [])),
            _java_doubles(list(beta or [])),
            float(epsilon),
            varianceMode,
        )
        return cls._wrap(java_model)

    @classmethod
    def _wrap(cls, java_model: "JavaObject") -> "BatchNormalizationModel":
        model = cls(java_model)
        model._transfer_params_from_java()
        return model

    # Keras and PyTorch ---------------------------------------------------------------------------------------------

    @classmethod
    def from_keras(cls, layer: Any, **columns: Any) -> "BatchNormalizationModel":
        """
        A model that computes what a built ``keras.layers.BatchNormalization`` layer computes in inference mode, from
        its ``moving_mean``, ``moving_variance``, ``gamma``, ``beta`` and ``epsilon``. ``columns``: ``inputCol`` and
        ``outputCol``, or ``inputCols`` and ``outputCols``.
        """
        _columns(columns)
        model = cls.fromStatistics(**_frameworks.keras_statistics(layer), varianceMode="population")
        return model._set(**columns)

    @classmethod
    def from_torch(cls, module: Any, **columns: Any) -> "BatchNormalizationModel":
        """
        A model that computes what a ``torch.nn.BatchNorm1d`` computes in ``eval()`` mode, from its ``running_mean``,
        ``running_var``, ``weight``, ``bias`` and ``eps`` (``running_var`` averages unbiased batch variances, so the
        model's ``varianceMode`` is ``sample``). ``columns``: as in :py:meth:`from_keras`.
        """
        _columns(columns)
        model = cls.fromStatistics(**_frameworks.torch_statistics(module), varianceMode="sample")
        return model._set(**columns)

    def _layer_values(self, path: Optional[str], what: str) -> dict:
        if is_remote():
            if path is None:
                raise NotImplementedError(_CONNECT_ATTRIBUTES.format(what="the statistics") + " Give path= as well.")
            self.write().overwrite().save(path)
            # The dimension alone is read first: a 2^24-feature model is refused before its statistics come over.
            n = _saved_num_features(path)
            _frameworks.check_layer_size(n, what)
            rows = read_statistics(path, varianceMode=self.getVarianceMode()).select("feature", "mean", "variance")
            # Statistics that store only some features have rows for those: every other feature has mean 0, variance 0.
            mean, variance = np.zeros(n), np.zeros(n)
            for r in rows.collect():
                mean[r["feature"]], variance[r["feature"]] = r["mean"], r["variance"]
            gamma = np.array(self.getGamma(), dtype=np.float64) if self.getGamma() else np.ones(n)
            beta = np.array(self.getBeta(), dtype=np.float64) if self.getBeta() else np.zeros(n)
        else:
            _frameworks.check_layer_size(self.numFeatures, what)
            mean, variance = self.mean.toArray(), self.variance.toArray()
            gamma, beta = self.gammaValues.toArray(), self.betaValues.toArray()
        return _frameworks.layer_values(
            mean=mean,
            variance=variance,
            gamma=gamma,
            beta=beta,
            epsilon=self.getEpsilon(),
            center=self.getCenter(),
            scale=self.getScale(),
        )

    def to_keras(self, dtype: str = "float32", path: Optional[str] = None) -> Any:
        """A built ``keras.layers.BatchNormalization`` that computes, with ``training=False``, what this model
        computes. On Spark Connect, give ``path``: the statistics are read with :py:meth:`statisticsFrame`."""
        return _frameworks.to_keras(self._layer_values(path, "to_keras"), dtype)

    def to_torch(self, dtype: Any = None, path: Optional[str] = None) -> Any:
        """A ``torch.nn.BatchNorm1d`` in ``eval()`` mode that computes what this model computes (``float32`` unless
        ``dtype`` is given). On Spark Connect, give ``path``: the statistics are read with
        :py:meth:`statisticsFrame`."""
        return _frameworks.to_torch(self._layer_values(path, "to_torch"), dtype)

    @classmethod
    def read(cls) -> MLReader["BatchNormalizationModel"]:
        """Returns a reader for models saved from Python, Java or Scala."""
        return _naming.reader(cls)


def _data_path(path: str) -> str:
    return path.rstrip("/") + "/data"


def _saved_num_features(path: str) -> int:
    """The number of features of the model saved at ``path``, read without its per-feature arrays."""
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    if spark is None:
        raise RuntimeError("reading a saved model needs an active SparkSession.")
    data = spark.read.parquet(_data_path(path))
    column = F.col("numFeatures") if "numFeatures" in data.columns else F.size("mean")
    first = data.select(column.alias("n")).first()
    assert first is not None
    return int(first["n"])


def read_statistics(
    path: str,
    varianceMode: Optional[str] = None,
    gamma: Optional[Sequence[float]] = None,
    beta: Optional[Sequence[float]] = None,
) -> DataFrame:
    """
    The statistics of a model saved at ``path`` as a DataFrame with one row per feature (see
    :py:meth:`BatchNormalizationModel.statisticsFrame`), read with the active session, classic or Spark Connect.
    ``varianceMode``: the convention of the ``variance`` column (default: the one the statistics are stored in).
    """
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    if spark is None:
        raise RuntimeError("read_statistics needs an active SparkSession.")
    data = spark.read.parquet(_data_path(path))
    first = data.select("exact", "varianceMode").first()
    assert first is not None
    stored = first["varianceMode"]
    mode = varianceMode or stored
    if mode not in ("population", "sample"):
        raise ValueError(f"varianceMode must be 'population' or 'sample', not {mode!r}")
    if mode != stored and not first["exact"]:
        raise ValueError(
            f"These are running statistics whose variance is a {stored} variance; it cannot be converted to a {mode}"
            " variance, which needs the weights of exact moments."
        )
    # Format 3 (statistics that store only some features) lists the stored features; the arrays hold one value each.
    stores_some = "storedFeatures" in data.columns
    rows = data.select(
        F.posexplode("mean").alias("slot", "mean"),
        "count",
        "weightSum",
        "weightSquareSum",
        "variance",
        *(["storedFeatures"] if stores_some else []),
    ).select(
        (F.col("storedFeatures")[F.col("slot")] if stores_some else F.col("slot")).alias("feature"),
        F.col("count")[F.col("slot")].alias("count"),
        F.col("weightSum")[F.col("slot")].alias("w"),
        F.col("weightSquareSum")[F.col("slot")].alias("w2"),
        "mean",
        F.col("variance")[F.col("slot")].alias("stored"),
    )
    if mode == stored:
        variance = F.col("stored")
    else:
        # Java's FeatureStatistics.variance: the sample variance is population * W / (W - sum(w^2) / W), and 0 when
        # that denominator is not positive (a single value).
        corrected = F.when(F.col("w2") == F.col("w"), F.col("w") - 1.0).otherwise(F.col("w") - F.col("w2") / F.col("w"))
        variance = F.when(corrected > 0.0, F.col("stored") * (F.col("w") / corrected)).otherwise(F.lit(0.0))
    n_gamma = list(gamma or [])
    n_beta = list(beta or [])
    gamma_col = (
        F.element_at(F.array(*[F.lit(float(g)) for g in n_gamma]), F.col("feature") + 1) if n_gamma else F.lit(1.0)
    )
    beta_col = F.element_at(F.array(*[F.lit(float(b)) for b in n_beta]), F.col("feature") + 1) if n_beta else F.lit(0.0)
    return rows.select(
        "feature",
        "count",
        F.col("w").alias("weightSum"),
        "mean",
        variance.alias("variance"),
        gamma_col.alias("gamma"),
        beta_col.alias("beta"),
    ).orderBy("feature")


_naming.register(BatchNormalization, BatchNormalizationModel)
