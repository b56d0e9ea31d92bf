"""Fit and transform from Python agree with independent references: numpy's batchnorm formula and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import columns_frame, features, output_columns, output_matrix, reference, vectors_frame
from sklearn.preprocessing import StandardScaler

from spark_batchnorm import BatchNormalization, BatchNormalizationModel

# Spark sums in double precision in another order than numpy: agreement to this relative error means the same numbers.
RTOL = 1e-9
ATOL = 1e-9


def test_a_vector_column_is_normalised_as_numpy_computes_it_with_the_population_variance(spark):
    x = features(11)
    frame = vectors_frame(spark, x)
    model = BatchNormalization(inputCol="features", outputCol="out").fit(frame)
    expected = reference(x, x.mean(axis=0), x.var(axis=0, ddof=0))
    np.testing.assert_allclose(output_matrix(model.transform(frame), "out"), expected, rtol=RTOL, atol=ATOL)


def test_gamma_beta_epsilon_and_the_sample_variance_are_applied_as_in_the_formula(spark):
    x = features(12, cols=3)
    gamma, beta, epsilon = np.array([0.5, 2.0, -1.0]), np.array([1.0, -3.0, 0.25]), 0.1
    frame = vectors_frame(spark, x)
    model = BatchNormalization(
        inputCol="features",
        outputCol="out",
        gamma=gamma.tolist(),
        beta=beta.tolist(),
        epsilon=epsilon,
        varianceMode="sample",
    ).fit(frame)
    expected = reference(x, x.mean(axis=0), x.var(axis=0, ddof=1), gamma, beta, epsilon)
    np.testing.assert_allclose(output_matrix(model.transform(frame), "out"), expected, rtol=RTOL, atol=ATOL)


def test_scalar_columns_are_fitted_in_one_pass_and_each_gets_its_own_output(spark):
    x = features(13, cols=3)
    names = ["age", "salary", "score"]
    frame = columns_frame(spark, x, names)
    outputs = [n + "_bn" for n in names]
    model = BatchNormalization(inputCols=names, outputCols=outputs).fit(frame)
    expected = reference(x, x.mean(axis=0), x.var(axis=0))
    np.testing.assert_allclose(output_columns(model.transform(frame), outputs), expected, rtol=RTOL, atol=ATOL)


def test_with_epsilon_zero_it_equals_scikit_learns_standard_scaler(spark):
    x = features(14)
    frame = vectors_frame(spark, x)
    model = BatchNormalization(inputCol="features", outputCol="out", epsilon=0.0).fit(frame)
    expected = StandardScaler().fit_transform(x)  # population std, as batch normalisation
    np.testing.assert_allclose(output_matrix(model.transform(frame), "out"), expected, rtol=RTOL, atol=ATOL)


def test_weighted_rows_follow_numpys_weighted_average(spark):
    x = features(15, cols=2)
    w = np.random.default_rng(15).uniform(0.0, 3.0, size=len(x))
    rows = [(i, float(w[i]), float(a), float(b)) for i, (a, b) in enumerate(x)]
    frame = spark.createDataFrame(rows, ["id", "weight", "a", "b"])
    model = BatchNormalization(inputCols=["a", "b"], outputCols=["a_bn", "b_bn"], weightCol="weight").fit(frame)
    mean = np.average(x, axis=0, weights=w)
    var = np.average((x - mean) ** 2, axis=0, weights=w)
    expected = reference(x, mean, var)
    np.testing.assert_allclose(output_columns(model.transform(frame), ["a_bn", "b_bn"]), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.classic_only("Spark Connect refuses to read model attributes outside its allow-list")
def test_the_fitted_statistics_are_numpys_mean_variance_and_count(spark):
    x = features(16)
    model = BatchNormalization(inputCol="features", outputCol="out").fit(vectors_frame(spark, x))
    np.testing.assert_allclose(model.mean.toArray(), x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model.variance.toArray(), x.var(axis=0), rtol=1e-10)
    assert model.count == len(x) and model.numFeatures == x.shape[1]
    model.setVarianceMode("sample")
    np.testing.assert_allclose(model.variance.toArray(), x.var(axis=0, ddof=1), rtol=1e-10)
    np.testing.assert_array_equal(model.gammaValues.toArray(), np.ones(x.shape[1]))
    model.setBeta([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(model.betaValues.toArray(), [1.0, 2.0, 3.0, 4.0])


@pytest.mark.classic_only("Spark Connect refuses to read model attributes outside its allow-list")
def test_scikit_learns_fitted_mean_and_variance_are_the_models(spark):
    x = features(17)
    model = BatchNormalization(inputCol="features", outputCol="out").fit(vectors_frame(spark, x))
    scaler = StandardScaler().fit(x)
    np.testing.assert_allclose(model.mean.toArray(), scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(model.variance.toArray(), scaler.var_, rtol=1e-10)


def test_to_string_is_the_java_description_in_both_kinds_of_session(spark):
    # toString is on Spark Connect's allow-list (every Identifiable), so this works remotely too.
    x = np.array([[1.0, 10.0], [3.0, 30.0]])
    model = BatchNormalization(inputCol="features", outputCol="out").fit(vectors_frame(spark, x))
    text = model.toString()
    assert text.startswith("BatchNormalizationModel: uid=" + model.uid)
    assert "numFeatures=2, count=2, epsilon=1.0E-5, varianceMode=population" in text
    assert "mean=[2.0, 20.0], variance=[1.0, 100.0]" in text
    assert str(model) == text and repr(model) == text


def test_params_changed_on_the_model_apply_without_refitting(spark):
    x = features(18, cols=2)
    frame = vectors_frame(spark, x)
    model = BatchNormalization(inputCol="features", outputCol="out").fit(frame)
    model.setEpsilon(2.0).setGamma([3.0, 4.0]).setVarianceMode("sample").setOutputCol("changed")
    expected = reference(x, x.mean(axis=0), x.var(axis=0, ddof=1), np.array([3.0, 4.0]), 0.0, 2.0)
    np.testing.assert_allclose(output_matrix(model.transform(frame), "changed"), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.classic_only("update calls a method that Spark Connect's allow-list refuses")
def test_update_merges_new_rows_exactly_as_a_fit_on_all_rows(spark):
    x = features(19)
    first, second = x[:120], x[120:]
    model = BatchNormalization(inputCol="features", outputCol="out").fit(vectors_frame(spark, first))
    updated = model.update(vectors_frame(spark, second))
    assert isinstance(updated, BatchNormalizationModel) and updated.uid == model.uid
    np.testing.assert_allclose(updated.mean.toArray(), x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(updated.variance.toArray(), x.var(axis=0), rtol=1e-10)
    assert updated.count == len(x) and model.count == len(first)


@pytest.mark.classic_only("update calls a method that Spark Connect's allow-list refuses")
def test_update_with_momentum_is_kerass_moving_average(spark):
    x = features(20, cols=2)
    first, second = x[:100], x[100:]
    model = BatchNormalization(inputCol="features", outputCol="out").fit(vectors_frame(spark, first))
    updated = model.setMomentum(0.9).update(vectors_frame(spark, second))
    np.testing.assert_allclose(updated.mean.toArray(), 0.9 * first.mean(axis=0) + 0.1 * second.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(
        updated.variance.toArray(), 0.9 * first.var(axis=0) + 0.1 * second.var(axis=0), rtol=1e-10
    )


@pytest.mark.classic_only("inverseTransform calls a method that Spark Connect's allow-list refuses")
def test_inverse_transform_gives_back_the_original_values(spark):
    x = features(21, cols=3)
    frame = vectors_frame(spark, x)
    model = BatchNormalization(inputCol="features", outputCol="out", gamma=[2.0, 1.0, 0.5]).fit(frame)
    normalised = model.transform(frame).select("id", "out")
    restored = model.inverseTransform(normalised)
    np.testing.assert_allclose(output_matrix(restored, "features"), x, rtol=1e-12, atol=1e-9)
    other = model.inverseTransform(model.transform(frame), ["restored"])
    np.testing.assert_allclose(output_matrix(other, "restored"), x, rtol=1e-12, atol=1e-9)


@pytest.mark.classic_only("fromStatistics calls a static Java method, which Spark Connect cannot")
def test_from_statistics_normalises_with_exactly_the_given_numbers(spark):
    mean, var = np.array([1.0, -2.0, 100.0]), np.array([4.0, 0.25, 0.0])
    gamma, beta = np.array([1.5, 1.0, 2.0]), np.array([0.0, 1.0, -1.0])
    model = (
        BatchNormalizationModel.fromStatistics(mean.tolist(), var.tolist(), gamma.tolist(), beta.tolist(), epsilon=1e-3)
        .setInputCol("features")
        .setOutputCol("out")
    )
    x = features(22, cols=3, rows=20)
    expected = reference(x, mean, var, gamma, beta, 1e-3)
    np.testing.assert_allclose(
        output_matrix(model.transform(vectors_frame(spark, x)), "out"), expected, rtol=1e-12, atol=1e-12
    )
    assert model.count == 0 and model.getVarianceMode() == "population" and model.getEpsilon() == 1e-3


def test_statistics_frame_gives_the_statistics_in_both_kinds_of_session(spark, tmp_path):
    x = features(23, cols=3)
    model = BatchNormalization(inputCol="features", outputCol="out", varianceMode="sample", beta=[1.0, 2.0, 3.0]).fit(
        vectors_frame(spark, x)
    )
    rows = model.statisticsFrame(str(tmp_path / "model")).collect()
    assert [r["feature"] for r in rows] == [0, 1, 2]
    np.testing.assert_allclose([r["mean"] for r in rows], x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose([r["variance"] for r in rows], x.var(axis=0, ddof=1), rtol=1e-10)
    assert [r["count"] for r in rows] == [len(x)] * 3 and [r["weightSum"] for r in rows] == [float(len(x))] * 3
    assert [r["gamma"] for r in rows] == [1.0] * 3 and [r["beta"] for r in rows] == [1.0, 2.0, 3.0]
    # and the saved model loads back with the same numbers
    reloaded = BatchNormalizationModel.load(str(tmp_path / "model"))
    population = reloaded.setVarianceMode("population").statisticsFrame(str(tmp_path / "again")).collect()
    np.testing.assert_allclose([r["variance"] for r in population], x.var(axis=0), rtol=1e-10)


def test_on_spark_connect_the_statistics_attributes_name_the_way_around(spark, connect):
    if not connect:
        pytest.skip("Spark Connect only: classic sessions read the attributes directly")
    model = BatchNormalization(inputCol="features", outputCol="out").fit(vectors_frame(spark, features(24, rows=5)))
    for attribute in ("mean", "variance", "count", "numFeatures", "gammaValues", "betaValues"):
        with pytest.raises(NotImplementedError, match="statisticsFrame"):
            getattr(model, attribute)


def test_group_cols_normalise_each_group_with_its_own_mean_and_variance(spark, connect):
    if connect:
        pytest.skip("groupStatistics reads a model attribute, which Spark Connect refuses")
    x = features(13, rows=300, cols=2)
    groups = np.array([i % 3 for i in range(len(x))])
    x[:, 0] += groups * 100.0
    rows = [(int(g), float(a), float(b)) for g, a, b in zip(groups, x[:, 0], x[:, 1])]
    frame = spark.createDataFrame(rows, ["g", "a", "b"])
    model = BatchNormalization(
        inputCols=["a", "b"], outputCols=["ya", "yb"], groupCols=["g"], handleUnseenGroup="global", minGroupCount=2
    ).fit(frame)
    assert model.groupCount == 3
    assert model.getMinGroupCount() == 2
    fitted = {row["g"]: row for row in model.groupStatistics().collect()}
    out = model.transform(frame).orderBy("g").collect()
    for g in range(3):
        mask = groups == g
        np.testing.assert_allclose(fitted[g]["mean"], x[mask].mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(fitted[g]["variance"], x[mask].var(axis=0), rtol=1e-9)
        expected = reference(x[mask], x[mask].mean(axis=0), x[mask].var(axis=0))
        actual = np.array([[r["ya"], r["yb"]] for r in out if r["g"] == g])
        np.testing.assert_allclose(np.sort(actual, axis=0), np.sort(expected, axis=0), rtol=RTOL, atol=ATOL)


WIDEST = 2**31 - 2  # Integer.MAX_VALUE - 1: the widest vectors Spark allows


def _widest_frame(spark):
    """Four rows touching features 0, 12,345 and the last: moments worked out by hand in the Java suite's test."""
    from pyspark.ml.linalg import Vectors

    rows = [
        (Vectors.sparse(WIDEST, {0: 2.0, WIDEST - 1: 8.0}),),
        (Vectors.sparse(WIDEST, {0: 4.0, 12_345: -1.5}),),
        (Vectors.sparse(WIDEST, {WIDEST - 1: 4.0}),),
        (Vectors.sparse(WIDEST, {}),),
    ]
    return spark.createDataFrame(rows, ["features"])


def test_a_model_of_the_widest_vectors_spark_allows_reports_its_stored_features(spark, connect, tmp_path):
    model = BatchNormalization(inputCol="features", outputCol="out", summation="exact").fit(_widest_frame(spark))
    # Feature 0 is 2, 4, 0, 0; 12,345 is -1.5, 0, 0, 0; the last is 8, 0, 4, 0. Exact sums are rounded once, so
    # the moments are these very doubles.
    rows = model.statisticsFrame(str(tmp_path / "widest")).collect()
    assert [r["feature"] for r in rows] == [0, 12_345, WIDEST - 1]
    assert [r["count"] for r in rows] == [4, 4, 4]
    assert [r["mean"] for r in rows] == [1.5, -0.375, 3.0]
    assert [r["variance"] for r in rows] == [2.75, 0.421875, 11.0]
    if connect:
        return
    from pyspark.ml.linalg import SparseVector

    assert model.numFeatures == WIDEST and model.count == 4
    mean, variance = model.mean, model.variance
    assert isinstance(mean, SparseVector) and mean.size == WIDEST
    assert mean.indices.tolist() == [0, 12_345, WIDEST - 1] and mean.values.tolist() == [1.5, -0.375, 3.0]
    assert isinstance(variance, SparseVector) and variance.values.tolist() == [2.75, 0.421875, 11.0]
    # An array of every feature cannot exist in the JVM; the accessor says so instead of failing inside it.
    with pytest.raises(Exception, match="gamma of all 2,147,483,646 features: .* longer than a Java array can be"):
        model.gammaValues
