package io.github.batchnorm;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.github.batchnorm.stats.VarianceMode;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.Expect;
import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.SparkTestSession;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("fromStatistics builds a model from statistics trained elsewhere")
class FromStatisticsTest {
    private static final double TIGHT = 1e-12;
    private static final double[] MEAN = {1, -2, 100};
    private static final double[] VARIANCE = {4, 0.25, 0};
    private static final double[] GAMMA = {1.5, 1, 2};
    private static final double[] BETA = {0, 1, -1};
    private static final double EPSILON = 1e-3;

    /** {@code gamma * (x - mean) / sqrt(variance + epsilon) + beta} in 50-digit decimal arithmetic. */
    private static double expected(int j, double x) {
        MathContext context = new MathContext(50);
        BigDecimal spread = new BigDecimal(VARIANCE[j]).add(new BigDecimal(EPSILON)).sqrt(context);
        return new BigDecimal(x).subtract(new BigDecimal(MEAN[j])).multiply(new BigDecimal(GAMMA[j]))
                .divide(spread, context).add(new BigDecimal(BETA[j])).doubleValue();
    }

    @Test
    void theModelNormalisesWithExactlyTheGivenNumbersOnWhicheverColumnsAreSetAfterwards() {
        double[][] values = Data.dense(131, 100, 3);
        BatchNormalizationModel model = BatchNormalizationModel.fromStatistics(MEAN, VARIANCE, GAMMA, BETA, EPSILON);
        assertEquals(0, model.count(), "statistics trained elsewhere come with no row count");
        assertFalse(model.statistics().isExact());
        assertEquals("population", model.getVarianceMode());
        assertArrayEquals(MEAN, model.mean().toArray());
        assertArrayEquals(VARIANCE, model.variance().toArray());

        List<Row> vectors = model.setOutputCol("y").transform(SparkTestSession.vectors(values, false, 2)).orderBy("id")
                .select("y").collectAsList();
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < values.length; r++) {
            rows.add(RowFactory.create((long) r, values[r][0], values[r][1], values[r][2]));
        }
        Dataset<Row> table = SparkTestSession.get().createDataFrame(rows, new StructType().add("id", DataTypes.LongType)
                .add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType).add("c", DataTypes.DoubleType));
        BatchNormalizationModel columns = BatchNormalizationModel.fromStatistics(MEAN, VARIANCE, GAMMA, BETA, EPSILON)
                .setInputCols("a", "b", "c").setOutputCols("a_bn", "b_bn", "c_bn");
        List<Row> scalars = columns.transform(table).orderBy("id").select("a_bn", "b_bn", "c_bn").collectAsList();
        for (int r = 0; r < values.length; r++) {
            Vector y = vectors.get(r).getAs(0);
            for (int j = 0; j < 3; j++) {
                double expected = expected(j, values[r][j]);
                assertClose(expected, y.apply(j), TIGHT, 1.0, "vector row " + r + " feature " + j);
                assertClose(expected, scalars.get(r).getDouble(j), TIGHT, 1.0, "column row " + r + " feature " + j);
            }
        }
    }

    @Test
    void emptyGammaAndBetaMeanOneAndZero() {
        BatchNormalizationModel model = BatchNormalizationModel.fromStatistics(new double[] {3}, new double[] {4},
                new double[0], new double[0], 0);
        assertArrayEquals(new double[] {1.0}, model.gammaValues().toArray());
        assertArrayEquals(new double[] {0.0}, model.betaValues().toArray());
        assertArrayEquals(new double[] {0.5}, model.coefficients().scale());
        assertArrayEquals(new double[] {3.0}, model.coefficients().mean());
        assertArrayEquals(new double[] {0.0}, model.coefficients().beta());
    }

    @Test
    void aKerasLayerKeepsMovingWithMomentumFromItsImportedStatistics() {
        // A freshly built Keras layer has moving_mean 0 and moving_variance 1; training moves them batch by batch.
        double[][] first = Data.dense(132, 80, 2);
        double[][] second = Data.dense(133, 120, 2);
        BatchNormalizationModel model = BatchNormalizationModel.fromStatistics(new double[] {0, 0}, new double[] {1, 1},
                new double[0], new double[0], 1e-3).setMomentum(0.99);
        model = model.update(SparkTestSession.vectors(first, false, 2)).update(SparkTestSession.vectors(second, false, 2));
        ExactReference a = ExactReference.of(first);
        ExactReference b = ExactReference.of(second);
        for (int j = 0; j < 2; j++) {
            double mean = 0.99 * (0.99 * 0 + 0.01 * a.mean(j)) + 0.01 * b.mean(j);
            double variance = 0.99 * (0.99 * 1 + 0.01 * a.populationVariance(j)) + 0.01 * b.populationVariance(j);
            assertRelative(mean, model.mean().apply(j), TIGHT, "moving_mean " + j);
            assertRelative(variance, model.variance().apply(j), TIGHT, "moving_variance " + j);
        }
        assertEquals(200, model.count());
        assertEquals(VarianceMode.POPULATION, model.statistics().storedVarianceMode());
    }

    @Test
    void badStatisticsAreRejectedNamingTheArgument() {
        double[] one = {1};
        double[] none = new double[0];
        assertEquals("fromStatistics: mean is empty; give one value per feature.",
                Expect.illegalArgument(() -> BatchNormalizationModel.fromStatistics(none, none, none, none, 1e-3)));
        assertEquals("fromStatistics: mean has 1 values but variance has 2; give one of each per feature.",
                Expect.illegalArgument(
                        () -> BatchNormalizationModel.fromStatistics(one, new double[] {1, 2}, none, none, 1e-3)));
        assertEquals("fromStatistics: mean[0] is NaN; every mean must be finite.", Expect.illegalArgument(
                () -> BatchNormalizationModel.fromStatistics(new double[] {Double.NaN}, one, none, none, 1e-3)));
        assertEquals("fromStatistics: variance[0] is -1.0; every variance must be finite and >= 0.", Expect.illegalArgument(
                () -> BatchNormalizationModel.fromStatistics(one, new double[] {-1}, none, none, 1e-3)));
        assertEquals("fromStatistics: gamma has 2 values but there are 1 features; give one per feature, or none for"
                + " 1.0.", Expect.illegalArgument(() -> BatchNormalizationModel.fromStatistics(one, one, new double[] {1, 2}, none, 1e-3)));
        assertEquals("fromStatistics: beta[0] is Infinity; every beta must be finite.", Expect.illegalArgument(() ->
                BatchNormalizationModel.fromStatistics(one, one, none, new double[] {Double.POSITIVE_INFINITY}, 1e-3)));
        assertEquals("fromStatistics: epsilon must be finite and >= 0 but was -0.001.",
                Expect.illegalArgument(() -> BatchNormalizationModel.fromStatistics(one, one, none, none, -1e-3)));
        assertEquals("varianceMode must be one of population, sample but was 'unbiased'",
                Expect.illegalArgument(() -> BatchNormalizationModel.fromStatistics(one, one, none, none, 1e-3, "unbiased")));
    }
}
