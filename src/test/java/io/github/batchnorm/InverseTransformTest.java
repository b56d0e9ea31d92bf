package io.github.batchnorm;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.Expect;
import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.PlanShape;
import io.github.batchnorm.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@DisplayName("inverseTransform maps normalised values back to the original scale")
class InverseTransformTest {
    private static final double TIGHT = 1e-12;
    private static final int ROWS = 400;

    private static SparkSession spark;

    @BeforeAll
    static void startSpark() {
        spark = SparkTestSession.get();
    }

    private static Row[] byId(Dataset<Row> data, int rows) {
        Row[] out = new Row[rows];
        for (Row row : data.collectAsList()) {
            out[(int) row.getLong(row.fieldIndex("id"))] = row;
        }
        return out;
    }

    /** Restored values are compared relative to the feature's spread, the scale at which the round trip rounds. */
    private static void assertRestored(double[][] original, double[][] restored, ExactReference reference) {
        for (int r = 0; r < original.length; r++) {
            for (int j = 0; j < original[r].length; j++) {
                assertClose(original[r][j], restored[r][j], TIGHT, Math.sqrt(reference.populationVariance(j)),
                        "row " + r + " feature " + j);
            }
        }
    }

    static Stream<Arguments> vectorLayouts() {
        return Stream.of(Arguments.of(false, true), Arguments.of(false, false), Arguments.of(true, true),
                Arguments.of(true, false));
    }

    @ParameterizedTest(name = "sparse={0}, center={1}")
    @MethodSource("vectorLayouts")
    void vectorsRoundTripWithin1eMinus12(boolean sparse, boolean center) {
        double[][] values = sparse ? Data.sparse(121, ROWS, 5, 0.3) : Data.dense(121, ROWS, 5);
        Dataset<Row> data = SparkTestSession.vectors(values, sparse, 3);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("normalized").setCenter(center)
                .setVarianceMode("sample").setGamma(0.5, 2, -3, 1, 7).setBeta(1, -1, 0.25, 10, 0).fit(data);
        Dataset<Row> normalized = model.transform(data).drop("features");
        Dataset<Row> restored = model.inverseTransform(normalized);
        assertEquals(SQLDataTypes.VectorType(), restored.schema().apply("features").dataType());
        assertEquals(5, AttributeGroup.fromStructField(restored.schema().apply("features")).size(),
                "the restored column carries ML attribute metadata");
        Row[] rows = byId(restored, ROWS);
        double[][] back = new double[ROWS][];
        for (int r = 0; r < ROWS; r++) {
            Vector vector = rows[r].getAs("features");
            // Centred output is dense; without centring a sparse row stays sparse both ways.
            Class<? extends Vector> expected = sparse && !center ? SparseVector.class : DenseVector.class;
            assertInstanceOf(expected, vector);
            back[r] = vector.toArray();
        }
        assertRestored(values, back, ExactReference.of(values));
    }

    private static Dataset<Row> scalarTable(double[][] values) {
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < values.length; r++) {
            rows.add(RowFactory.create((long) r, values[r][0], values[r][1], values[r][2]));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("a", DataTypes.DoubleType)
                .add("b", DataTypes.DoubleType).add("c", DataTypes.DoubleType);
        return spark.createDataFrame(rows, schema).repartition(2);
    }

    @Test
    void scalarColumnsRoundTripWithPlainSql() {
        double[][] values = Data.dense(122, ROWS, 3);
        Dataset<Row> data = scalarTable(values);
        BatchNormalizationModel model = new BatchNormalization().setInputCols("a", "b", "c")
                .setOutputCols("a_bn", "b_bn", "c_bn").setEpsilon(0.5).setGamma(2, 3, 4).setBeta(-1, 0, 1).fit(data);
        Dataset<Row> restored = model.inverseTransform(model.transform(data).drop("a", "b", "c"));
        for (String column : List.of("a", "b", "c")) {
            assertEquals(DataTypes.DoubleType, restored.schema().apply(column).dataType());
        }
        Row[] rows = byId(restored, ROWS);
        double[][] back = new double[ROWS][3];
        for (int r = 0; r < ROWS; r++) {
            for (int j = 0; j < 3; j++) {
                back[r][j] = rows[r].getDouble(rows[r].fieldIndex(new String[] {"a", "b", "c"}[j]));
            }
        }
        assertRestored(values, back, ExactReference.of(values));
        PlanShape.assertCompiledSql(restored, "a", "b", "c");
    }

    private static Dataset<Row> arrays(double[][] values, boolean asFloat) {
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < values.length; r++) {
            Object array = asFloat ? toFloats(values[r]) : Arrays.stream(values[r]).boxed().toArray(Double[]::new);
            rows.add(RowFactory.create((long) r, array));
        }
        DataType element = asFloat ? DataTypes.FloatType : DataTypes.DoubleType;
        return spark.createDataFrame(rows, new StructType().add("id", DataTypes.LongType)
                .add("features", DataTypes.createArrayType(element, true))).repartition(2);
    }

    private static Float[] toFloats(double[] values) {
        Float[] floats = new Float[values.length];
        for (int j = 0; j < values.length; j++) {
            floats[j] = (float) values[j];
        }
        return floats;
    }

    @Test
    void doubleArraysRoundTripAndFloatArraysStayFloat() {
        double[][] values = Data.dense(123, ROWS, 4);
        Dataset<Row> data = arrays(values, false);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").setGamma(1, 2, 3, 4).fit(data);
        Dataset<Row> restoredDoubles = model.inverseTransform(model.transform(data).drop("features"));
        Row[] rows = byId(restoredDoubles, ROWS);
        // Plain SQL; Spark 4.2 evaluates the element-wise transform(array, lambda) outside whole-stage code generation.
        PlanShape.assertPlainSql(restoredDoubles, "features");
        double[][] back = new double[ROWS][];
        for (int r = 0; r < ROWS; r++) {
            back[r] = rows[r].<Double>getList(rows[r].fieldIndex("features")).stream().mapToDouble(Double::doubleValue)
                    .toArray();
        }
        assertRestored(values, back, ExactReference.of(values));

        Dataset<Row> floats = arrays(values, true);
        BatchNormalizationModel floatModel = new BatchNormalization().setOutputCol("y").fit(floats);
        Dataset<Row> restored = floatModel.inverseTransform(floatModel.transform(floats).drop("features"));
        assertEquals(DataTypes.createArrayType(DataTypes.FloatType, true), restored.schema().apply("features").dataType());
        Row[] floatRows = byId(restored, ROWS);
        PlanShape.assertPlainSql(restored, "features");
        for (int r = 0; r < ROWS; r++) {
            List<Float> x = floatRows[r].getList(floatRows[r].fieldIndex("features"));
            for (int j = 0; j < 4; j++) {
                // The normalised value was rounded to float on the way: a few float ulps of the original remain.
                float original = (float) values[r][j];
                assertEquals(original, x.get(j), 4 * Math.ulp(Math.max(Math.abs(original), 1f)), "row " + r);
            }
        }
    }

    @Test
    void withScaleOffTheInverseOnlyUndoesTheShift() {
        double[][] values = Data.dense(124, 50, 2);
        Dataset<Row> data = SparkTestSession.vectors(values, false, 1);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").setScale(false).setGamma(0, 0)
                .setBeta(3, 4).fit(data);
        // gamma 0 would block the inverse, but with scale off gamma is not used and a = 1.
        assertEquals(1.0, model.coefficients().scale()[0]);
        Row[] rows = byId(model.inverseTransform(model.transform(data), "restored"), 50);
        double[] mean = model.coefficients().mean();
        double[] beta = model.coefficients().beta();
        assertEquals(3.0, beta[0]);
        for (int r = 0; r < 50; r++) {
            Vector y = rows[r].getAs("y");
            Vector x = rows[r].getAs("restored");
            for (int j = 0; j < 2; j++) {
                assertEquals((y.apply(j) - beta[j]) + mean[j], x.apply(j), "x = (y - beta) / 1 + mean, exactly");
            }
        }
    }

    @Test
    void aFeatureWhoseScaleIsZeroCannotBeInvertedAndTheErrorNamesIt() {
        Dataset<Row> data = SparkTestSession.vectors(Data.dense(125, 60, 4), false, 2);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").setGamma(1, 0, 2, 0).fit(data);
        Dataset<Row> normalized = model.transform(data).drop("features");
        assertEquals("Cannot invert the normalisation of features[1], features[3]: its scale gamma / sqrt(variance +"
                + " epsilon) is 0 (gamma is 0, or the variance and epsilon are both 0), so the transform sent every value"
                + " to beta.", Expect.illegalArgument(() -> model.inverseTransform(normalized)));
        assertEquals(0, Expect.jobsRunBefore(spark, () -> model.inverseTransform(normalized)));

        List<Row> constant = List.of(RowFactory.create(0L, 5.0, 1.0), RowFactory.create(1L, 5.0, 2.0));
        Dataset<Row> table = spark.createDataFrame(constant, new StructType().add("id", DataTypes.LongType)
                .add("age", DataTypes.DoubleType).add("tenure", DataTypes.DoubleType));
        BatchNormalizationModel constantModel = new BatchNormalization().setInputCols("age", "tenure")
                .setOutputCols("age_bn", "tenure_bn").setEpsilon(0).fit(table);
        assertEquals("Cannot invert the normalisation of age: its scale gamma / sqrt(variance + epsilon) is 0 (gamma is 0,"
                + " or the variance and epsilon are both 0), so the transform sent every value to beta.",
                Expect.illegalArgument(() -> constantModel.inverseTransform(constantModel.transform(table).drop("age", "tenure"))));
    }

    @Test
    void restoredColumnsMustNotExistAndCanBeNamed() {
        double[][] values = Data.dense(126, 30, 3);
        Dataset<Row> data = SparkTestSession.vectors(values, false, 1);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(data);
        Dataset<Row> normalized = model.transform(data);
        assertEquals("inverseTransform reads the normalised outputCol and writes inputCol: Output column 'features'"
                + " already exists. Choose another output column name or drop the column first.",
                Expect.illegalArgument(() -> model.inverseTransform(normalized)));
        assertEquals("inverseTransform reads the normalised outputCol and writes inputCol: Input column 'y' does not"
                + " exist. Available columns: id, features.", Expect.illegalArgument(() -> model.inverseTransform(data)));
        assertEquals("inverseTransform needs one restored column name per input column, but got 2 for 1.",
                Expect.illegalArgument(() -> model.inverseTransform(normalized, "r1", "r2")));
        assertEquals("inverseTransform reads the normalised outputCol and writes the restored columns: Output column 'id'"
                + " already exists. Choose another output column name or drop the column first.",
                Expect.illegalArgument(() -> model.inverseTransform(normalized, "id")));
        Row[] rows = byId(model.inverseTransform(normalized, "restored"), 30);
        double[][] back = new double[30][];
        for (int r = 0; r < 30; r++) {
            back[r] = rows[r].<Vector>getAs("restored").toArray();
        }
        assertRestored(values, back, ExactReference.of(values));
    }

    @Test
    void invalidValuesFollowHandleInvalid() {
        Dataset<Row> data = scalarTable(Data.dense(127, 20, 3));
        BatchNormalizationModel model = new BatchNormalization().setInputCols("a", "b", "c")
                .setOutputCols("a_bn", "b_bn", "c_bn").fit(data);
        List<Row> rows = List.of(RowFactory.create(0L, 1.0, Double.NaN, null), RowFactory.create(1L, 0.5, 0.25, -1.0));
        Dataset<Row> normalized = spark.createDataFrame(rows, new StructType().add("id", DataTypes.LongType)
                .add("a_bn", DataTypes.DoubleType).add("b_bn", DataTypes.DoubleType).add("c_bn", DataTypes.DoubleType));

        Row[] kept = byId(model.setHandleInvalid("keep").inverseTransform(normalized), 2);
        assertTrue(Double.isNaN(kept[0].getDouble(kept[0].fieldIndex("b"))), "NaN passes through");
        assertNull(kept[0].get(kept[0].fieldIndex("c")), "null stays null");
        assertEquals(1, model.setHandleInvalid("skip").inverseTransform(normalized).count(), "the row is dropped");
        Exception failure = assertThrows(Exception.class,
                () -> model.setHandleInvalid("error").inverseTransform(normalized).collectAsList());
        String messages = Expect.messagesOf(failure);
        assertTrue(messages.contains("Input column 'b_bn' has an invalid value NaN."), messages);
    }
}
