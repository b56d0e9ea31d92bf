package io.github.batchnorm;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.SparkTestSession;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@DisplayName("BatchNormalization on Spark")
class BatchNormalizationTest {
    private static final double TIGHT = 1e-12;
    private static final int ROWS = 600;
    private static final int FEATURES = 6;

    private static Vector[] outputsById(Dataset<Row> transformed, String column, int rows) {
        Vector[] out = new Vector[rows];
        for (Row row : transformed.select("id", column).collectAsList()) {
            out[(int) row.getLong(0)] = row.getAs(1);
        }
        return out;
    }

    private static void assertStatisticsMatch(ExactReference reference, BatchNormalizationModel model, boolean sample) {
        for (int j = 0; j < model.numFeatures(); j++) {
            double variance = sample ? reference.sampleVariance(j) : reference.populationVariance(j);
            assertClose(reference.mean(j), model.mean().apply(j), TIGHT, Math.sqrt(variance), "mean of feature " + j);
            assertRelative(variance, model.variance().apply(j), TIGHT, "variance of feature " + j);
        }
    }

    static Stream<Arguments> layouts() {
        return Stream.of(
                Arguments.of(false, 1, 2), Arguments.of(false, 3, 2), Arguments.of(false, 17, 2), Arguments.of(false, 17, 4),
                Arguments.of(true, 1, 2), Arguments.of(true, 3, 4), Arguments.of(true, 17, 2), Arguments.of(true, 17, 4));
    }

    @ParameterizedTest(name = "sparse={0}, partitions={1}, depth={2}")
    @MethodSource("layouts")
    void outputEqualsTheBigDecimalReference(boolean sparse, int partitions, int depth) {
        double[][] rows = sparse ? Data.sparse(21, ROWS, FEATURES, 0.3) : Data.dense(21, ROWS, FEATURES);
        Dataset<Row> data = SparkTestSession.vectors(rows, sparse, partitions);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("normalized").setAggregationDepth(depth)
                .fit(data);
        ExactReference reference = ExactReference.of(rows);
        assertEquals(ROWS, model.count());
        assertEquals(FEATURES, model.numFeatures());
        assertStatisticsMatch(reference, model, false);
        Vector[] out = outputsById(model.transform(data), "normalized", ROWS);
        for (int i = 0; i < ROWS; i++) {
            assertInstanceOf(DenseVector.class, out[i], "centred output is dense");
            for (int j = 0; j < FEATURES; j++) {
                double expected = reference.normalize(j, rows[i][j], false, 1e-5, 1.0, 0.0, true, true);
                assertClose(expected, out[i].apply(j), TIGHT, 1.0, "row " + i + " feature " + j);
            }
        }
    }

    static Stream<Arguments> switches() {
        return Stream.of(Arguments.of(true, true), Arguments.of(false, true), Arguments.of(true, false),
                Arguments.of(false, false));
    }

    @ParameterizedTest(name = "center={0}, scale={1}")
    @MethodSource("switches")
    void customGammaAndBetaWithCenterAndScaleSwitches(boolean center, boolean scale) {
        double[][] rows = Data.dense(22, ROWS, 3);
        double[] gamma = {0.5, 2.0, -1.5};
        double[] beta = {10.0, -3.0, 0.25};
        Dataset<Row> data = SparkTestSession.vectors(rows, false, 3);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").setGamma(gamma).setBeta(beta)
                .setEpsilon(0.01).setCenter(center).setScale(scale).setVarianceMode("sample").fit(data);
        ExactReference reference = ExactReference.of(rows);
        assertStatisticsMatch(reference, model, true);
        Vector[] out = outputsById(model.transform(data), "y", ROWS);
        for (int i = 0; i < ROWS; i++) {
            for (int j = 0; j < 3; j++) {
                double expected = reference.normalize(j, rows[i][j], true, 0.01, gamma[j], beta[j], center, scale);
                assertClose(expected, out[i].apply(j), TIGHT, 1.0, "row " + i + " feature " + j);
            }
        }
    }

    @Test
    void sparseInputStaysSparseWhenNotCentredAndOnlyItsNonZerosAreTouched() {
        double[][] rows = Data.sparse(23, ROWS, 8, 0.1);
        Dataset<Row> data = SparkTestSession.vectors(rows, true, 4);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").setCenter(false).fit(data);
        ExactReference reference = ExactReference.of(rows);
        Vector[] in = outputsById(data, "features", ROWS);
        Vector[] out = outputsById(model.transform(data), "y", ROWS);
        for (int i = 0; i < ROWS; i++) {
            SparseVector sparseOut = assertInstanceOf(SparseVector.class, out[i]);
            assertArrayEquals(((SparseVector) in[i]).indices(), sparseOut.indices());
            for (int j = 0; j < 8; j++) {
                double expected = reference.normalize(j, rows[i][j], false, 1e-5, 1.0, 0.0, false, true);
                assertClose(expected, sparseOut.apply(j), TIGHT, 1.0, "row " + i + " feature " + j);
            }
        }
    }

    @Test
    void matchesSparksStandardScalerWithSampleVarianceAndZeroEpsilon() {
        double[][] rows = Data.dense(24, 1000, 5);
        Dataset<Row> data = SparkTestSession.vectors(rows, false, 5);
        StandardScalerModel scaler = new StandardScaler().setInputCol("features").setOutputCol("spark")
                .setWithMean(true).setWithStd(true).fit(data);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("ours").setVarianceMode("sample")
                .setEpsilon(0.0).fit(data);
        Vector[] theirs = outputsById(scaler.transform(data), "spark", rows.length);
        Vector[] ours = outputsById(model.transform(data), "ours", rows.length);
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < 5; j++) {
                assertClose(theirs[i].apply(j), ours[i].apply(j), TIGHT, 1.0, "row " + i + " feature " + j);
            }
        }
        for (int j = 0; j < 5; j++) {
            assertRelative(scaler.mean().apply(j), model.mean().apply(j), TIGHT, "mean " + j);
            assertRelative(scaler.std().apply(j) * scaler.std().apply(j), model.variance().apply(j), TIGHT, "variance " + j);
        }
    }

    @Test
    void constantFeatureWithZeroEpsilonBecomesBeta() {
        double[][] rows = Data.dense(25, 200, 2);
        for (double[] row : rows) {
            row[1] = 42.0;
        }
        Dataset<Row> data = SparkTestSession.vectors(rows, false, 2);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").setEpsilon(0.0)
                .setBeta(0.0, 7.5).fit(data);
        assertEquals(0.0, model.variance().apply(1));
        for (Vector v : outputsById(model.transform(data), "y", rows.length)) {
            assertEquals(7.5, v.apply(1));
        }
    }

    @Test
    void outputColumnCarriesMlAttributesOfTheRightSize() {
        Dataset<Row> data = SparkTestSession.vectors(Data.dense(26, 50, 4), false, 2);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(data);
        Dataset<Row> out = model.transform(data);
        assertEquals(4, AttributeGroup.fromStructField(out.schema().apply("y")).size());
        assertEquals(List.of("id", "features", "y"), List.of(out.columns()));
        assertEquals(out.schema(), model.transformSchema(data.schema()));
    }

    @Test
    void modelParamsCanBeChangedAfterFittingWithoutRefitting() {
        double[][] rows = Data.dense(27, 300, 2);
        Dataset<Row> data = SparkTestSession.vectors(rows, false, 2);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(data);
        model.setGamma(2.0, 3.0).setBeta(1.0, -1.0).setVarianceMode("sample");
        ExactReference reference = ExactReference.of(rows);
        Vector[] out = outputsById(model.transform(data), "y", rows.length);
        for (int i = 0; i < rows.length; i++) {
            assertClose(reference.normalize(1, rows[i][1], true, 1e-5, 3.0, -1.0, true, true), out[i].apply(1), TIGHT, 1.0,
                    "row " + i);
        }
    }
}
