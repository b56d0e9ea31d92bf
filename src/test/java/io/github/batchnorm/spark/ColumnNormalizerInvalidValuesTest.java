package io.github.batchnorm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.BatchNormalization;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.stats.AffineCoefficients;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.Expect;
import io.github.batchnorm.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The transform of scalar and array columns under {@code handleInvalid = error} checks a whole row at once and looks at
 * single values only when that check fires; these cases hold it to naming the same column, index and value as a check
 * of every value would, and to leaving rows alone whose only oddity is that their finite values overflow a sum.
 */
@DisplayName("Scalar and array transform: invalid values under error, keep and skip")
class ColumnNormalizerInvalidValuesTest {
    private static final int FEATURES = 5;
    private static final int CLEAN_ROWS = 40;
    /** First, middle and last column. */
    private static final int[] POSITIONS = {0, FEATURES / 2, FEATURES - 1};
    private static final Double[] INVALID = {null, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
    private static final String ADVICE = " Set handleInvalid to 'skip' to drop such rows, or to 'keep' to leave such values"
            + " out of the statistics and pass them through the transform.";
    /** Finite rows whose left-to-right sum overflows to +Infinity, to -Infinity, and past both in turn. */
    private static final double[][] OVERFLOWING = {
        {Double.MAX_VALUE, Double.MAX_VALUE, 1, -Double.MAX_VALUE, 2},
        {-1e308, -1e308, -1e308, 5, -0.5},
        {1.5e308, 1.5e308, -1.5e308, -1.5e308, -1.5e308},
    };

    private static SparkSession spark;
    private static double[][] clean;
    private static BatchNormalizationModel scalarModel;
    private static BatchNormalizationModel arrayModel;

    @BeforeAll
    static void fitOnCleanRows() {
        spark = SparkTestSession.get();
        SplittableRandom random = new SplittableRandom(1313);
        clean = new double[CLEAN_ROWS][FEATURES];
        for (double[] row : clean) {
            for (int j = 0; j < FEATURES; j++) {
                row[j] = 10 * j + (1 + j) * Data.gaussian(random);
            }
        }
        scalarModel = new BatchNormalization().setInputCols(names("c")).setOutputCols(names("y")).fit(scalars(clean));
        arrayModel = new BatchNormalization().setInputCol("features").setOutputCol("y").fit(arrays(clean, false));
    }

    @Test
    void anInvalidScalarIsReportedWithItsColumnAndValue() {
        for (Double invalid : INVALID) {
            for (int position : POSITIONS) {
                Double[][] boxed = box(clean);
                boxed[17][position] = invalid;
                String message = failureOf(scalarModel, scalarsBoxed(boxed));
                assertTrue(message.contains("Input column 'c" + position + "' has an invalid value " + invalid + "."
                        + ADVICE), "column c" + position + ", value " + invalid + ": " + message);
            }
        }
    }

    @Test
    void aScalarRowWithSeveralInvalidValuesNamesOneOfThem() {
        Double[][] boxed = box(clean);
        boxed[3][1] = Double.NaN;
        boxed[3][3] = Double.NEGATIVE_INFINITY;
        String message = failureOf(scalarModel, scalarsBoxed(boxed));
        assertTrue(message.contains("Input column 'c1' has an invalid value NaN.")
                || message.contains("Input column 'c3' has an invalid value -Infinity."), message);
    }

    @Test
    void anInvalidArrayElementIsReportedWithItsIndexAndValue() {
        for (boolean asFloat : new boolean[] {false, true}) {
            BatchNormalizationModel model = asFloat
                    ? new BatchNormalization().setInputCol("features").setOutputCol("y").fit(arrays(clean, true))
                    : arrayModel;
            for (Double invalid : INVALID) {
                // Float arrays share the code path, so one position of each value is enough there.
                for (int position : asFloat ? new int[] {FEATURES / 2} : POSITIONS) {
                    Double[][] boxed = box(clean);
                    boxed[29][position] = invalid;
                    String message = failureOf(model, arraysBoxed(boxed, asFloat));
                    assertTrue(message.contains("Input column 'features' has an invalid value " + invalid + " at index "
                            + position + "." + ADVICE), (asFloat ? "float" : "double") + " index " + position
                            + ", value " + invalid + ": " + message);
                }
            }
        }
    }

    @Test
    void finiteScalarsWhoseSumOverflowsAreTransformedNotReported() {
        double[][] rows = clean;
        for (double[] overflowing : OVERFLOWING) {
            rows = withRow(rows, overflowing);
        }
        List<Row> out = scalarModel.transform(scalars(rows)).orderBy("id").collectAsList();
        assertEquals(rows.length, out.size());
        for (int r = 0; r < rows.length; r++) {
            for (int j = 0; j < FEATURES; j++) {
                Row row = out.get(r);
                assertEquals(expected(scalarModel.coefficients(), j, rows[r][j]), row.getDouble(row.fieldIndex("y" + j)),
                        "row " + r + ", column " + j);
            }
        }
    }

    @Test
    void finiteArraysAtTheEdgeOfTheRangeAreTransformedNotReported() {
        double[][] rows = clean;
        for (double[] overflowing : OVERFLOWING) {
            rows = withRow(rows, overflowing);
        }
        List<Row> out = arrayModel.transform(arrays(rows, false)).orderBy("id").collectAsList();
        assertEquals(rows.length, out.size());
        for (int r = 0; r < rows.length; r++) {
            List<Double> y = out.get(r).getList(out.get(r).fieldIndex("y"));
            for (int j = 0; j < FEATURES; j++) {
                assertEquals(expected(arrayModel.coefficients(), j, rows[r][j]), y.get(j), "row " + r + ", index " + j);
            }
        }
    }

    @Test
    void keepPassesInvalidValuesThroughAndSkipDropsTheirRows() {
        Double[][] boxed = box(clean);
        for (int k = 0; k < INVALID.length; k++) {
            boxed[5 + k][POSITIONS[k % POSITIONS.length]] = INVALID[k];
        }
        Dataset<Row> scalarData = scalarsBoxed(boxed);
        Dataset<Row> arrayData = arraysBoxed(boxed, false);
        BatchNormalizationModel scalarKeep = scalarModel.copy(new ParamMap()).setHandleInvalid("keep");
        BatchNormalizationModel arrayKeep = arrayModel.copy(new ParamMap()).setHandleInvalid("keep");
        List<Row> scalarOut = scalarKeep.transform(scalarData).orderBy("id").collectAsList();
        List<Row> arrayOut = arrayKeep.transform(arrayData).orderBy("id").collectAsList();
        for (int r = 0; r < CLEAN_ROWS; r++) {
            List<Double> y = arrayOut.get(r).getList(arrayOut.get(r).fieldIndex("y"));
            Row scalarRow = scalarOut.get(r);
            for (int j = 0; j < FEATURES; j++) {
                Double x = boxed[r][j];
                Object scalarY = scalarRow.get(scalarRow.fieldIndex("y" + j));
                if (x == null || !Double.isFinite(x)) {
                    assertEquals(x, scalarY, "kept scalar, row " + r + ", column " + j);
                    assertEquals(x, y.get(j), "kept element, row " + r + ", index " + j);
                } else {
                    assertEquals(expected(scalarModel.coefficients(), j, x), scalarY, "row " + r + ", column " + j);
                    assertEquals(expected(arrayModel.coefficients(), j, x), y.get(j), "row " + r + ", index " + j);
                }
            }
        }
        BatchNormalizationModel scalarSkip = scalarModel.copy(new ParamMap()).setHandleInvalid("skip");
        BatchNormalizationModel arraySkip = arrayModel.copy(new ParamMap()).setHandleInvalid("skip");
        long[] expectedIds = {0, 1, 2, 3, 4, 9};
        assertEquals(Arrays.toString(expectedIds), Arrays.toString(ids(scalarSkip.transform(scalarData), 6)));
        assertEquals(Arrays.toString(expectedIds), Arrays.toString(ids(arraySkip.transform(arrayData), 6)));
        assertEquals(CLEAN_ROWS - INVALID.length, scalarSkip.transform(scalarData).count());
        assertEquals(CLEAN_ROWS - INVALID.length, arraySkip.transform(arrayData).count());
    }

    /** The affine map written out with the coefficients the model holds, in the order its documentation gives. */
    private static double expected(AffineCoefficients coefficients, int feature, double x) {
        return (x - coefficients.mean()[feature]) * coefficients.scale()[feature] + coefficients.beta()[feature];
    }

    private static long[] ids(Dataset<Row> transformed, int first) {
        return transformed.orderBy("id").limit(first).collectAsList().stream().mapToLong(row -> row.getLong(0)).toArray();
    }

    private static String failureOf(BatchNormalizationModel model, Dataset<Row> data) {
        Exception failure = assertThrows(Exception.class, () -> model.transform(data).write().format("noop")
                .mode("overwrite").save());
        return Expect.messagesOf(failure);
    }

    private static String[] names(String prefix) {
        String[] names = new String[FEATURES];
        for (int j = 0; j < FEATURES; j++) {
            names[j] = prefix + j;
        }
        return names;
    }

    private static double[][] withRow(double[][] rows, double[] row) {
        double[][] copy = Arrays.copyOf(rows, rows.length + 1);
        copy[rows.length] = row.clone();
        return copy;
    }

    private static Double[][] box(double[][] rows) {
        Double[][] boxed = new Double[rows.length][];
        for (int r = 0; r < rows.length; r++) {
            boxed[r] = Arrays.stream(rows[r]).boxed().toArray(Double[]::new);
        }
        return boxed;
    }

    private static Dataset<Row> scalars(double[][] rows) {
        return scalarsBoxed(box(rows));
    }

    /** Columns id, c0..c4, over three partitions so the invalid row is not alone in its task. */
    private static Dataset<Row> scalarsBoxed(Double[][] rows) {
        StructType schema = new StructType().add("id", DataTypes.LongType);
        for (String name : names("c")) {
            schema = schema.add(name, DataTypes.DoubleType);
        }
        List<Row> data = new ArrayList<>();
        for (int r = 0; r < rows.length; r++) {
            Object[] values = new Object[FEATURES + 1];
            values[0] = (long) r;
            System.arraycopy(rows[r], 0, values, 1, FEATURES);
            data.add(RowFactory.create(values));
        }
        return spark.createDataFrame(data, schema).repartition(3);
    }

    private static Dataset<Row> arrays(double[][] rows, boolean asFloat) {
        return arraysBoxed(box(rows), asFloat);
    }

    /** Columns id and features, array of double or float. */
    private static Dataset<Row> arraysBoxed(Double[][] rows, boolean asFloat) {
        DataType element = asFloat ? DataTypes.FloatType : DataTypes.DoubleType;
        StructType schema = new StructType().add("id", DataTypes.LongType)
                .add("features", DataTypes.createArrayType(element, true));
        List<Row> data = new ArrayList<>();
        for (int r = 0; r < rows.length; r++) {
            Object array = rows[r];
            if (asFloat) {
                array = Arrays.stream(rows[r]).map(x -> x == null ? null : (Object) x.floatValue()).toArray(Float[]::new);
            }
            data.add(RowFactory.create((long) r, array));
        }
        return spark.createDataFrame(data, schema).repartition(3);
    }
}
