"""One Spark session for the whole run: classic by default, Spark Connect with ``--connect`` (a local Connect server
started in this process with the library jar). The Java side of that same JVM is reachable through ``jvm`` either way,
for the tests that compare with the Java stages or persist models from Java."""

from __future__ import annotations

import os
import sys
from typing import Any, Iterator, List, Sequence

import numpy as np
import pytest

# Keras 3 runs inference on numpy alone; set before anything imports keras.
os.environ.setdefault("KERAS_BACKEND", "numpy")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--connect", action="store_true", help="run the suite on a Spark Connect session")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "classic_only(reason): needs a classic session; skipped on Spark Connect")


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if not config.getoption("--connect"):
        return
    for item in items:
        marker = item.get_closest_marker("classic_only")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason="classic sessions only: " + marker.args[0]))


@pytest.fixture(scope="session")
def connect(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--connect"))


@pytest.fixture(scope="session")
def spark(connect: bool) -> Iterator[Any]:
    from pyspark.sql import SparkSession

    import spark_batchnorm

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.remote("local[2]") if connect else SparkSession.builder.master("local[2]")
    session = (
        builder.appName("spark-batchnorm-python-tests")
        .config("spark.jars", spark_batchnorm.jar_path())
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        # As for the Java tests (pom.xml's test.jvm.flags): a test JVM is short-lived, so C1 alone costs less CPU.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseParallelGC")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def jvm(spark: Any) -> Any:
    """The JVM that runs the session (the Connect server's, on Connect): ``jvm.io.github.batchnorm...`` reaches the
    Java stages."""
    from pyspark import SparkContext

    sc = SparkContext._active_spark_context
    assert sc is not None, "the session's JVM is not in this process"
    return sc._jvm


@pytest.fixture(scope="session")
def java_spark(jvm: Any) -> Any:
    """The JVM's own (classic) SparkSession, for running the Java stages directly."""
    return jvm.org.apache.spark.sql.SparkSession.builder().getOrCreate()


def java_stages(jvm: Any) -> Any:
    return jvm.io.github.batchnorm


def vectors_frame(spark: Any, x: np.ndarray, column: str = "features", extra: Sequence[str] = ()) -> Any:
    from pyspark.ml.linalg import Vectors

    rows = [(i, Vectors.dense(row.tolist())) for i, row in enumerate(x)]
    return spark.createDataFrame(rows, ["id", column])


def columns_frame(spark: Any, x: np.ndarray, names: Sequence[str]) -> Any:
    rows = [tuple([i] + [float(v) for v in row]) for i, row in enumerate(x)]
    return spark.createDataFrame(rows, ["id"] + list(names))


def output_matrix(frame: Any, column: str) -> np.ndarray:
    rows = frame.orderBy("id").select(column).collect()
    return np.array([r[0].toArray() for r in rows])


def output_columns(frame: Any, names: Sequence[str]) -> np.ndarray:
    rows = frame.orderBy("id").select(*names).collect()
    return np.array([[r[n] for n in names] for r in rows], dtype=float)


def reference(
    x: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    gamma: Any = 1.0,
    beta: Any = 0.0,
    epsilon: float = 1e-5,
) -> np.ndarray:
    """The seed's batchnorm: gamma * (x - mean) / sqrt(var + eps) + beta."""
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta


def features(seed: int, rows: int = 200, cols: int = 4) -> np.ndarray:
    """Features of very different scales, as in real tables (age-like, salary-like, ...)."""
    rng = np.random.default_rng(seed)
    scales = np.array([10.0, 1e5, 0.01, 3.0, 250.0, 1.0])[:cols]
    offsets = np.array([40.0, 2e5, -0.5, 0.0, 1e3, 7.0])[:cols]
    return rng.normal(size=(rows, cols)) * scales + offsets
