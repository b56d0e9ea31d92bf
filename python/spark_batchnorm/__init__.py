"""Batch normalisation for PySpark ML: ``BatchNormalization`` and ``BatchNormalizationModel`` over the Java stages of
spark-batchnorm, for classic and Spark Connect sessions. The library jar ships inside this package: give
:py:func:`jar_path` to ``spark.jars``.
"""

from __future__ import annotations

import os

__version__ = "0.1.0.dev0"

JAR_NAME = "spark-batchnorm.jar"


def jar_path() -> str:
    """The path of the spark-batchnorm jar installed with this package, for ``spark.jars``."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jars", JAR_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} is missing: build the jar (mvn package) before installing this package (pip install ./python)"
        )
    return path


from spark_batchnorm._stages import BatchNormalization, BatchNormalizationModel, read_statistics  # noqa: E402

__all__ = ["BatchNormalization", "BatchNormalizationModel", "jar_path", "read_statistics", "__version__"]
