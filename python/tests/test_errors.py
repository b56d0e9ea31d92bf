"""Bad input from Python fails with the Java stage's message, as PySpark's usual exception types."""

from __future__ import annotations

import pytest
from conftest import features, vectors_frame
from pyspark.errors import IllegalArgumentException

from spark_batchnorm import BatchNormalization


def _raises_java_message(match: str):
    # PySpark's own type (classic: captured from the JVM; Connect: from the server), never py4j's Py4JJavaError.
    return pytest.raises(IllegalArgumentException, match=match)


def test_an_unknown_variance_mode_names_the_param_and_the_value(spark):
    frame = vectors_frame(spark, features(41, rows=10))
    with _raises_java_message("parameter varianceMode given invalid value biased"):
        BatchNormalization(inputCol="features", outputCol="out", varianceMode="biased").fit(frame)


def test_a_missing_input_column_is_named(spark):
    frame = vectors_frame(spark, features(42, rows=10))
    with _raises_java_message("nosuchcolumn") as raised:
        BatchNormalization(inputCol="nosuchcolumn", outputCol="out").fit(frame)
    assert "Py4J" not in str(raised.value)


def test_a_gamma_of_the_wrong_length_says_both_lengths(spark):
    frame = vectors_frame(spark, features(43, rows=10, cols=3))
    with _raises_java_message("Param gamma has 2 values, but input column 'features' has 3 features"):
        BatchNormalization(inputCol="features", outputCol="out", gamma=[1.0, 2.0]).fit(frame)


def test_a_gamma_of_the_wrong_length_set_on_a_fitted_model_fails_at_transform(spark):
    frame = vectors_frame(spark, features(44, rows=10, cols=3))
    model = BatchNormalization(inputCol="features", outputCol="out").fit(frame)
    with _raises_java_message("Param gamma has 4 values, but input column 'features' has 3 features"):
        model.setGamma([1.0, 1.0, 1.0, 1.0]).transform(frame).collect()


def test_an_existing_output_column_is_refused(spark):
    frame = vectors_frame(spark, features(45, rows=10))
    with _raises_java_message("id"):
        BatchNormalization(inputCol="features", outputCol="id").fit(frame)
