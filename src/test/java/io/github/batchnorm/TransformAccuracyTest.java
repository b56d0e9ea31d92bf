package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.SparkTestSession;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.TestReporter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The transform and its inverse on features whose mean is large next to their spread, against the map computed exactly
 * (BigDecimal, 50 digits) from the model's own fitted mean and variance. The statistics are tested elsewhere; here they
 * are inputs, so every difference seen is the map's own rounding. Exact summation makes them the same bits on every run,
 * so this test sees the same errors on every run too.
 *
 * <p>Bounds: an output within 4 ulps of {@code max(1, |y|, |y - beta|)}, which is {@code max(1, |y|)} for z-scores
 * (beta 0): {@code (x - mean) * a} is rounded at its own size, {@code |y - beta|}, before beta is added, and with beta it
 * can be the larger term. The subtraction, the scale and the product are each off by at most 2^-53 of that size, and
 * the addition by 2^-53 of |y|: under 4 ulps in all, to first order. The round trip
 * {@code inverseTransform(transform(x))} within 4 ulps of {@code max(|x|, spread)}. Float arrays are bounded in float
 * ulps: the map runs in double and rounds to float once. Measured: at most 1.4 ulps forward and 2 ulps for the round
 * trip; folding the mean into one shift ({@code a * x + (beta - a * mean)}) was off by up to 9e8 ulps (2e-7) here.
 *
 * <p>Features: {@code 1e9 + N(0, 1)}, {@code 1e12 + 1e3 N(0, 1)}, epoch seconds (1.7e9 plus up to a day, to the
 * millisecond) and {@code -3 + 10 N(0, 1)} with a quarter of its values exactly 0 (mixed signs; in the sparse form those
 * zeros are left out of the vector).
 */
@DisplayName("The transform is as exact as the statistics on every input form")
class TransformAccuracyTest {
    private static final int ROWS = 2000;
    private static final int FEATURES = 4;
    private static final double ULPS = 4.0;
    private static final MathContext CONTEXT = new MathContext(50);
    private static final String[] INPUTS = {"big", "huge", "epoch", "signed"};
    private static final String[] OUTPUTS = {"big_bn", "huge_bn", "epoch_bn", "signed_bn"};

    enum Form { SCALAR_COLUMNS, DOUBLE_ARRAY, FLOAT_ARRAY, DENSE_VECTOR, SPARSE_VECTOR }

    /** Gamma, beta and epsilon of one run; empty gamma and beta are 1 and 0. */
    record Setting(String name, double[] gamma, double[] beta, double epsilon) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final Setting Z_SCORES = new Setting("z-scores, epsilon 1e-5", new double[0], new double[0], 1e-5);
    private static final Setting AFFINE = new Setting("gamma and beta, epsilon 1e-3", new double[] {2, 1.5, -1, 3},
            new double[] {0.5, -1, 0, 2}, 1e-3);

    static Stream<Arguments> formsAndSettings() {
        List<Arguments> cases = new ArrayList<>();
        for (Form form : Form.values()) {
            cases.add(Arguments.of(form, Z_SCORES));
            cases.add(Arguments.of(form, AFFINE));
        }
        return cases.stream();
    }

    private static double[][] features(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double[][] rows = new double[ROWS][FEATURES];
        for (int r = 0; r < ROWS; r++) {
            rows[r][0] = 1e9 + Data.gaussian(random);
            rows[r][1] = 1e12 + 1e3 * Data.gaussian(random);
            rows[r][2] = 1.7e9 + random.nextInt(86_400_000) / 1000.0;
            rows[r][3] = random.nextDouble() < 0.25 ? 0.0 : -3 + 10 * Data.gaussian(random);
        }
        return rows;
    }

    /** The rows as the form holds them: float arrays hold each value rounded to float, the others hold it exactly. */
    private static double[][] held(double[][] rows, Form form) {
        double[][] out = new double[ROWS][FEATURES];
        for (int r = 0; r < ROWS; r++) {
            for (int j = 0; j < FEATURES; j++) {
                out[r][j] = form == Form.FLOAT_ARRAY ? (float) rows[r][j] : rows[r][j];
            }
        }
        return out;
    }

    private static Dataset<Row> table(double[][] rows, Form form) {
        List<Row> data = new ArrayList<>();
        StructType schema = new StructType().add("id", DataTypes.LongType);
        switch (form) {
            case SCALAR_COLUMNS:
                for (String input : INPUTS) {
                    schema = schema.add(input, DataTypes.DoubleType);
                }
                for (int r = 0; r < ROWS; r++) {
                    Object[] fields = new Object[FEATURES + 1];
                    fields[0] = (long) r;
                    for (int j = 0; j < FEATURES; j++) {
                        fields[j + 1] = rows[r][j];
                    }
                    data.add(RowFactory.create(fields));
                }
                break;
            case DOUBLE_ARRAY:
            case FLOAT_ARRAY:
                boolean floats = form == Form.FLOAT_ARRAY;
                DataType element = floats ? DataTypes.FloatType : DataTypes.DoubleType;
                schema = schema.add("features", DataTypes.createArrayType(element, true));
                for (int r = 0; r < ROWS; r++) {
                    Object[] array = floats ? new Float[FEATURES] : new Double[FEATURES];
                    for (int j = 0; j < FEATURES; j++) {
                        array[j] = floats ? (Object) (float) rows[r][j] : (Object) rows[r][j];
                    }
                    data.add(RowFactory.create((long) r, array));
                }
                break;
            default:
                schema = schema.add("features", SQLDataTypes.VectorType());
                for (int r = 0; r < ROWS; r++) {
                    Vector vector = Vectors.dense(rows[r].clone());
                    data.add(RowFactory.create((long) r, form == Form.SPARSE_VECTOR ? vector.toSparse() : vector));
                }
        }
        return SparkTestSession.get().createDataFrame(data, schema).repartition(3);
    }

    private static BatchNormalization estimator(Form form, Setting setting) {
        BatchNormalization estimator = form == Form.SCALAR_COLUMNS
                ? new BatchNormalization().setInputCols(INPUTS).setOutputCols(OUTPUTS)
                : new BatchNormalization().setInputCol("features").setOutputCol("y");
        return estimator.setGamma(setting.gamma()).setBeta(setting.beta()).setEpsilon(setting.epsilon())
                .setSummation("exact");
    }

    /** The values of {@code column} (or of the scalar {@code columns}), indexed by row id. */
    private static double[][] collect(Dataset<Row> data, Form form, String column, String[] columns) {
        double[][] out = new double[ROWS][];
        for (Row row : data.collectAsList()) {
            int r = (int) row.getLong(row.fieldIndex("id"));
            double[] values = new double[FEATURES];
            switch (form) {
                case SCALAR_COLUMNS:
                    for (int j = 0; j < FEATURES; j++) {
                        values[j] = row.getDouble(row.fieldIndex(columns[j]));
                    }
                    break;
                case DOUBLE_ARRAY:
                    List<Double> doubles = row.getList(row.fieldIndex(column));
                    for (int j = 0; j < FEATURES; j++) {
                        values[j] = doubles.get(j);
                    }
                    break;
                case FLOAT_ARRAY:
                    List<Float> floats = row.getList(row.fieldIndex(column));
                    for (int j = 0; j < FEATURES; j++) {
                        values[j] = floats.get(j);
                    }
                    break;
                default:
                    values = row.<Vector>getAs(column).toArray();
            }
            out[r] = values;
        }
        return out;
    }

    /** {@code gamma * (x - mean) / sqrt(variance + epsilon) + beta} for feature j, exactly, with the model's numbers. */
    private static BigDecimal exactMap(BatchNormalizationModel model, int j, double x) {
        BigDecimal spread = new BigDecimal(model.variance().apply(j)).add(new BigDecimal(model.getEpsilon()))
                .sqrt(CONTEXT);
        return new BigDecimal(x).subtract(new BigDecimal(model.mean().apply(j)))
                .multiply(new BigDecimal(model.gammaValues().apply(j))).divide(spread, CONTEXT)
                .add(new BigDecimal(model.betaValues().apply(j)));
    }

    /** An ulp of {@code magnitude} in the form's precision: float ulps for float arrays, double ulps otherwise. */
    private static double ulp(Form form, double magnitude) {
        return form == Form.FLOAT_ARRAY ? Math.ulp((float) magnitude) : Math.ulp(magnitude);
    }

    /** The worst error seen per feature, in ulps of its scale, and where. */
    private static final class Worst {
        private final String what;
        private final double[] ulps = new double[FEATURES];
        private final String[] where = new String[FEATURES];

        Worst(String what) {
            this.what = what;
            Arrays.fill(ulps, -1);
        }

        void see(BigDecimal expected, double actual, double scale, Form form, int r, int j) {
            double error = new BigDecimal(actual).subtract(expected).abs().doubleValue();
            double inUlps = error / ulp(form, scale);
            if (inUlps > ulps[j]) {
                ulps[j] = inUlps;
                where[j] = String.format(Locale.ROOT, "row %d: expected %s, was %s (off by %.3g)", r,
                        expected.round(new MathContext(20)), actual, error);
            }
        }

        double max() {
            return Arrays.stream(ulps).max().orElse(0);
        }

        String report() {
            StringBuilder text = new StringBuilder(String.format(Locale.ROOT, "%s, worst %.2f (allowed %.0f):", what,
                    max(), ULPS));
            for (int j = 0; j < FEATURES; j++) {
                text.append(String.format(Locale.ROOT, "%n  %s %.2f ulps at %s", INPUTS[j], ulps[j], where[j]));
            }
            return text.toString();
        }
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("formsAndSettings")
    void everyOutputIsWithinFourUlpsOfTheExactMapAndTheRoundTripRestoresTheInput(Form form, Setting setting,
            TestReporter reporter) {
        double[][] values = held(features(161), form);
        Dataset<Row> data = table(values, form);
        BatchNormalizationModel model = estimator(form, setting).fit(data);
        String[] restoredCols = {"big_back", "huge_back", "epoch_back", "signed_back"};
        Dataset<Row> transformed = model.transform(data);
        Dataset<Row> restored = form == Form.SCALAR_COLUMNS ? model.inverseTransform(transformed, restoredCols)
                : model.inverseTransform(transformed, "back");
        double[][] outputs = collect(transformed, form, "y", OUTPUTS);
        double[][] back = collect(restored, form, "back", restoredCols);

        Worst forward = new Worst("transform, in ulps of max(1, |y|, |y - beta|)");
        Worst roundTrip = new Worst("inverseTransform(transform(x)), in ulps of max(|x|, spread)");
        for (int j = 0; j < FEATURES; j++) {
            double spread = Math.sqrt(model.variance().apply(j));
            for (int r = 0; r < ROWS; r++) {
                BigDecimal y = exactMap(model, j, values[r][j]);
                double scaled = y.subtract(new BigDecimal(model.betaValues().apply(j))).abs().doubleValue();
                forward.see(y, outputs[r][j], Math.max(1.0, Math.max(y.abs().doubleValue(), scaled)), form, r, j);
                roundTrip.see(new BigDecimal(values[r][j]), back[r][j], Math.max(Math.abs(values[r][j]), spread), form,
                        r, j);
            }
        }
        reporter.publishEntry("forward", forward.report());
        reporter.publishEntry("round trip", roundTrip.report());
        assertAll(() -> assertTrue(forward.max() <= ULPS, forward.report()),
                () -> assertTrue(roundTrip.max() <= ULPS, roundTrip.report()));
    }
}
