"""Saved from Python, loaded in Java, and the other way round; Pipelines come back with our Python classes."""

from __future__ import annotations

import numpy as np
from conftest import features, java_stages, output_matrix, vectors_frame
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression

from spark_batchnorm import BatchNormalization, BatchNormalizationModel


def _java_doubles(java_vector):
    return np.array(list(java_vector.toArray()))


def test_a_model_saved_from_python_loads_in_java_with_the_same_statistics_and_params(spark, jvm, tmp_path):
    x = features(31)
    model = BatchNormalization(inputCol="features", outputCol="out", epsilon=0.01, varianceMode="sample").fit(
        vectors_frame(spark, x)
    )
    model.setBeta([1.0, 2.0, 3.0, 4.0])
    path = str(tmp_path / "model")
    model.write().overwrite().save(path)
    java = java_stages(jvm).BatchNormalizationModel.load(path)
    assert java.uid() == model.uid
    np.testing.assert_allclose(_java_doubles(java.mean()), x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(_java_doubles(java.variance()), x.var(axis=0, ddof=1), rtol=1e-10)
    assert java.count() == len(x) and java.getEpsilon() == 0.01 and java.getVarianceMode() == "sample"
    assert list(java.getBeta()) == [1.0, 2.0, 3.0, 4.0] and java.getOutputCol() == "out"


def test_a_model_saved_from_java_loads_in_python_and_transforms_the_same(spark, jvm, java_spark, tmp_path):
    x = features(32, cols=3)
    data = str(tmp_path / "data")
    vectors_frame(spark, x).write.parquet(data)
    java_model = (
        java_stages(jvm)
        .BatchNormalization()
        .setInputCol("features")
        .setOutputCol("java_out")
        .setEpsilon(0.5)
        .fit(java_spark.read().parquet(data))
    )
    path = str(tmp_path / "java-model")
    java_model.write().overwrite().save(path)
    model = BatchNormalizationModel.load(path)
    assert type(model) is BatchNormalizationModel and model.uid == java_model.uid()
    assert model.getEpsilon() == 0.5 and model.getOutputCol() == "java_out" and model.getInputCol() == "features"
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 0.5)
    out = output_matrix(model.transform(spark.read.parquet(data)), "java_out")
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-9)


def test_an_estimator_round_trips_between_python_and_java(spark, jvm, tmp_path):
    estimator = BatchNormalization(inputCols=["a", "b"], outputCols=["x", "y"], momentum=0.25, summation="exact")
    path = str(tmp_path / "estimator")
    estimator.save(path)
    java = java_stages(jvm).BatchNormalization.load(path)
    assert list(java.getInputCols()) == ["a", "b"] and java.getMomentum() == 0.25 and java.getSummation() == "exact"
    java.setEpsilon(0.125).write().overwrite().save(path)
    back = BatchNormalization.load(path)
    assert type(back) is BatchNormalization and back.uid == estimator.uid
    assert back.getInputCols() == ["a", "b"] and back.getOutputCols() == ["x", "y"]
    assert back.getMomentum() == 0.25 and back.getEpsilon() == 0.125 and back.getSummation() == "exact"


def _labelled(spark, x):
    from pyspark.ml.linalg import Vectors

    labels = (x[:, 0] + x[:, 1] / 1e4 > 60).astype(float)
    return spark.createDataFrame(
        [(i, Vectors.dense(r.tolist()), float(y)) for i, (r, y) in enumerate(zip(x, labels))],
        ["id", "features", "label"],
    )


def test_a_fitted_pipeline_saved_from_python_loads_back_with_our_classes_and_the_same_numbers(spark, tmp_path):
    frame = _labelled(spark, features(33))
    pipeline = Pipeline(
        stages=[
            BatchNormalization(inputCol="features", outputCol="normalized", varianceMode="sample"),
            LogisticRegression(featuresCol="normalized", maxIter=20),
        ]
    )
    fitted = pipeline.fit(frame)
    path = str(tmp_path / "pipeline-model")
    fitted.write().overwrite().save(path)
    loaded = PipelineModel.load(path)
    assert type(loaded.stages[0]) is BatchNormalizationModel
    assert loaded.stages[0].getVarianceMode() == "sample" and loaded.stages[0].uid == fitted.stages[0].uid
    before = fitted.transform(frame).orderBy("id").select("normalized", "probability").collect()
    after = loaded.transform(frame).orderBy("id").select("normalized", "probability").collect()
    np.testing.assert_array_equal([r[0].toArray() for r in after], [r[0].toArray() for r in before])
    np.testing.assert_array_equal([r[1].toArray() for r in after], [r[1].toArray() for r in before])


def test_an_unfitted_pipeline_saved_from_python_loads_back_with_our_estimator(spark, tmp_path):
    pipeline = Pipeline(stages=[BatchNormalization(inputCol="features", outputCol="normalized", epsilon=0.25)])
    path = str(tmp_path / "pipeline")
    pipeline.write().overwrite().save(path)
    stage = Pipeline.load(path).getStages()[0]
    assert type(stage) is BatchNormalization and stage.getEpsilon() == 0.25 and stage.getOutputCol() == "normalized"


def test_a_pipeline_model_saved_from_java_loads_in_python_with_our_model_class(spark, jvm, java_spark, tmp_path):
    x = features(34, cols=2)
    data = str(tmp_path / "data")
    vectors_frame(spark, x).write.parquet(data)
    stage = java_stages(jvm).BatchNormalization().setInputCol("features").setOutputCol("out")
    from pyspark import SparkContext

    stages = SparkContext._active_spark_context._gateway.new_array(jvm.org.apache.spark.ml.PipelineStage, 1)
    stages[0] = stage
    java_pipeline = jvm.org.apache.spark.ml.Pipeline().setStages(stages)
    path = str(tmp_path / "java-pipeline-model")
    java_pipeline.fit(java_spark.read().parquet(data)).write().overwrite().save(path)
    loaded = PipelineModel.load(path)
    assert type(loaded.stages[0]) is BatchNormalizationModel
    out = output_matrix(loaded.transform(spark.read.parquet(data)), "out")
    np.testing.assert_allclose(out, (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5), rtol=1e-9, atol=1e-9)
