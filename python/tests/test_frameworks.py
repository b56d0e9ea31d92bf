"""Models to and from real Keras (numpy backend) and PyTorch batch normalisation layers compute the same numbers."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import columns_frame, features, output_columns, output_matrix, vectors_frame

from spark_batchnorm import BatchNormalization, BatchNormalizationModel

CLASSIC_ONLY = pytest.mark.classic_only(
    "the conversions read the statistics or call fromStatistics, which Spark Connect refuses; see the path= test"
)

# float64 PyTorch modules compute the formula in the same precision as Spark; float32 layers round their weights and
# output. Keras 3.15's BatchNormalization keeps gamma and beta in float32 even with dtype="float64", and its inference
# output differed from the float64 formula by up to 1.5e-7 relative here: Keras is held to float32 agreement.
TIGHT = 1e-12
FLOAT32 = 2e-6
# Keras: outputs of size up to about 10 computed from weights rounded to float32 (about 6e-8 relative each).
KERAS = {"rtol": 1e-6, "atol": 1e-5}


def _trained_keras_layer(x: np.ndarray, dtype: str):
    import keras

    layer = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.8, dtype=dtype)
    layer.build((None, x.shape[1]))
    rng = np.random.default_rng(51)
    layer.gamma.assign(rng.uniform(0.5, 2.0, x.shape[1]).astype(dtype))
    layer.beta.assign(rng.normal(size=x.shape[1]).astype(dtype))
    for batch in np.array_split(x, 4):  # training passes move the moving statistics
        layer(batch.astype(dtype), training=True)
    assert not np.allclose(keras.ops.convert_to_numpy(layer.moving_mean), 0.0)
    return layer


@CLASSIC_ONLY
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_from_keras_computes_what_the_keras_layer_computes_in_inference(spark, dtype):
    import keras

    x = features(52, cols=3) / np.array([1.0, 1e4, 1.0])
    layer = _trained_keras_layer(x, dtype)
    model = BatchNormalizationModel.from_keras(layer, inputCol="features", outputCol="out")
    expected = keras.ops.convert_to_numpy(layer(x.astype(dtype), training=False)).astype(np.float64)
    out = output_matrix(model.transform(vectors_frame(spark, x)), "out")
    np.testing.assert_allclose(out, expected, **KERAS)
    assert model.getEpsilon() == pytest.approx(1e-3) and model.getVarianceMode() == "population"


@CLASSIC_ONLY
def test_from_keras_with_scalar_columns_and_no_gamma_or_beta(spark):
    import keras

    x = features(53, cols=2)
    layer = keras.layers.BatchNormalization(epsilon=0.01, center=False, scale=False, dtype="float64")
    layer.build((None, 2))
    layer.moving_mean.assign(x.mean(axis=0))
    layer.moving_variance.assign(x.var(axis=0))
    model = BatchNormalizationModel.from_keras(layer, inputCols=["a", "b"], outputCols=["a_bn", "b_bn"])
    expected = keras.ops.convert_to_numpy(layer(x, training=False))
    out = output_columns(model.transform(columns_frame(spark, x, ["a", "b"])), ["a_bn", "b_bn"])
    np.testing.assert_allclose(out, expected, **KERAS)


@CLASSIC_ONLY
def test_to_keras_gives_a_layer_that_computes_what_the_model_computes(spark):
    import keras

    x = features(54)
    frame = vectors_frame(spark, x)
    model = BatchNormalization(
        inputCol="features", outputCol="out", gamma=[1.0, 2.0, 0.5, 3.0], beta=[0.0, 1.0, -1.0, 2.0]
    )
    model = model.fit(frame)
    layer = model.to_keras(dtype="float64")
    assert isinstance(layer, keras.layers.BatchNormalization) and layer.built
    got = keras.ops.convert_to_numpy(layer(x, training=False))
    np.testing.assert_allclose(got, output_matrix(model.transform(frame), "out"), **KERAS)


@CLASSIC_ONLY
def test_to_keras_also_expresses_center_false(spark):
    import keras

    x = features(55, cols=2)
    frame = vectors_frame(spark, x)
    model = BatchNormalization(inputCol="features", outputCol="out", center=False, epsilon=0.5).fit(frame)
    got = keras.ops.convert_to_numpy(model.to_keras(dtype="float64")(x, training=False))
    np.testing.assert_allclose(got, x / np.sqrt(x.var(axis=0) + 0.5), **KERAS)


def _trained_torch_module(x: np.ndarray, dtype):
    import torch

    torch.manual_seed(56)
    module = torch.nn.BatchNorm1d(x.shape[1], eps=1e-3, momentum=0.3, dtype=dtype)
    with torch.no_grad():
        module.weight.uniform_(0.5, 2.0)
        module.bias.normal_()
    module.train()
    for batch in np.array_split(x, 4):  # training passes move the running statistics
        module(torch.tensor(batch, dtype=dtype))
    return module.eval()


@CLASSIC_ONLY
@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_from_torch_computes_what_the_torch_module_computes_in_eval_mode(spark, precision):
    import torch

    dtype, tolerance = (torch.float64, TIGHT) if precision == "float64" else (torch.float32, FLOAT32)
    x = features(57, cols=3) / np.array([1.0, 1e4, 1.0])
    module = _trained_torch_module(x, dtype)
    model = BatchNormalizationModel.from_torch(module, inputCol="features", outputCol="out")
    with torch.no_grad():
        expected = module(torch.tensor(x, dtype=dtype)).double().numpy()
    out = output_matrix(model.transform(vectors_frame(spark, x)), "out")
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)
    assert model.getVarianceMode() == "sample" and model.getEpsilon() == pytest.approx(1e-3)


@CLASSIC_ONLY
def test_to_torch_gives_an_eval_mode_module_that_computes_what_the_model_computes(spark):
    import torch

    x = features(58)
    frame = vectors_frame(spark, x)
    model = BatchNormalization(inputCol="features", outputCol="out", varianceMode="sample", epsilon=0.1).fit(frame)
    module = model.to_torch(dtype=torch.float64)
    assert isinstance(module, torch.nn.BatchNorm1d) and not module.training
    with torch.no_grad():
        got = module(torch.tensor(x, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, output_matrix(model.transform(frame), "out"), rtol=TIGHT, atol=TIGHT)


@pytest.mark.parametrize(
    "module, call",
    [
        ("keras", lambda m: m.to_keras()),
        ("keras", lambda m: BatchNormalizationModel.from_keras(object(), inputCol="x")),
        ("torch", lambda m: m.to_torch()),
        ("torch", lambda m: BatchNormalizationModel.from_torch(object(), inputCol="x")),
    ],
)
@CLASSIC_ONLY
def test_a_missing_framework_gives_an_error_naming_the_package_to_install(monkeypatch, spark, module, call):
    model = BatchNormalization(inputCol="features", outputCol="out").fit(vectors_frame(spark, features(59, rows=5)))
    monkeypatch.setitem(sys.modules, module, None)  # what an absent package looks like to import
    with pytest.raises(ImportError, match=f"pip install {module}"):
        call(model)


@CLASSIC_ONLY
def test_a_layer_of_another_kind_is_refused(spark):
    import keras
    import torch

    with pytest.raises(TypeError, match="keras.layers.BatchNormalization"):
        BatchNormalizationModel.from_keras(keras.layers.Dense(2), inputCol="x")
    with pytest.raises(TypeError, match="torch.nn.BatchNorm1d"):
        BatchNormalizationModel.from_torch(torch.nn.BatchNorm2d(2), inputCol="x")


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_export_on_spark_connect_reads_the_statistics_through_a_path(spark, connect, framework, tmp_path):
    # The one conversion direction that works remotely: the statistics come from statisticsFrame(path).
    if not connect:
        pytest.skip("Spark Connect only: classic sessions read the statistics directly")
    import keras
    import torch

    x = features(60, cols=3)
    frame = vectors_frame(spark, x)
    model = BatchNormalization(inputCol="features", outputCol="out", beta=[1.0, 0.0, -1.0]).fit(frame)
    with pytest.raises(NotImplementedError, match="path="):
        model.to_torch() if framework == "torch" else model.to_keras()
    expected = output_matrix(model.transform(frame), "out")
    if framework == "torch":
        with torch.no_grad():
            got = model.to_torch(torch.float64, path=str(tmp_path / "m"))(torch.tensor(x, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(got, expected, rtol=TIGHT, atol=TIGHT)
    else:
        got = keras.ops.convert_to_numpy(model.to_keras("float64", path=str(tmp_path / "m"))(x, training=False))
        np.testing.assert_allclose(got, expected, **KERAS)


def test_a_layer_too_wide_to_build_is_refused_before_anything_is_copied():
    from spark_batchnorm import _frameworks

    _frameworks.check_layer_size(1 << 22, "to_keras")
    with pytest.raises(ValueError) as refused:
        _frameworks.check_layer_size(1 << 24, "to_torch")
    message = str(refused.value)
    assert message.startswith("to_torch: the model has 16,777,216 features, more than the 4,194,304")
    assert "about 768 MB" in message


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_a_fitted_model_of_2_24_features_is_refused_before_its_statistics_are_copied(
    spark, framework, tmp_path, monkeypatch
):
    from pyspark.ml.linalg import Vectors

    from spark_batchnorm import _stages

    wide = 1 << 24
    rows = [(Vectors.sparse(wide, {0: 2.0, wide - 1: 8.0}),), (Vectors.sparse(wide, {0: 4.0, 12_345: -1.5}),)]
    model = BatchNormalization(inputCol="features", outputCol="out").fit(spark.createDataFrame(rows, ["features"]))
    # The fit of a hashed column stores its three touched features only; the export must still refuse the layer's
    # 2^24 weights per array, and before it reads any statistics into Python.

    def copied(*args, **kwargs):
        raise AssertionError("the statistics were read before the layer's size was checked")

    monkeypatch.setattr(BatchNormalizationModel, "mean", property(copied))
    monkeypatch.setattr(_stages, "read_statistics", copied)
    with pytest.raises(ValueError) as refused:
        getattr(model, f"to_{framework}")(path=str(tmp_path / "m"))
    message = str(refused.value)
    assert message.startswith(f"to_{framework}: the model has 16,777,216 features, more than the 4,194,304")
    assert "Reduce the dimension (for example FeatureHasher's numFeatures)" in message
