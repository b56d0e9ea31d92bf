package io.github.batchnorm;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.Expect;
import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.PlanShape;
import io.github.batchnorm.testing.SparkTestSession;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Feature tables: scalar and array columns, weights, invalid values")
class FeatureTablesTest {
    private static final double TIGHT = 1e-12;
    private static final int ROWS = 500;
    private static final String[] TYPED = {"b", "s", "i", "l", "f", "d", "m"};
    private static final String[] TYPED_OUT = {"b_bn", "s_bn", "i_bn", "l_bn", "f_bn", "d_bn", "m_bn"};

    private static SparkSession spark;
    /** The values of the typed table, as the doubles each column holds exactly. */
    private static double[][] typedValues;
    private static double[] weights;
    private static Dataset<Row> typedTable;

    @BeforeAll
    static void makeTables() {
        spark = SparkTestSession.get();
        SplittableRandom random = new SplittableRandom(51);
        typedValues = new double[ROWS][TYPED.length];
        weights = new double[ROWS];
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < ROWS; r++) {
            byte b = (byte) random.nextInt(-100, 100);
            short s = (short) random.nextInt(-30000, 30000);
            int i = random.nextInt(1, 1_000_000);
            long l = random.nextLong(1L << 52) - (1L << 51);
            float f = (float) (3 + 2 * Data.gaussian(random));
            double d = 1e6 + 1e3 * Data.gaussian(random);
            BigDecimal m = BigDecimal.valueOf(random.nextLong(-10_000_000, 10_000_000), 2);
            typedValues[r] = new double[] {b, s, i, l, f, d, m.doubleValue()};
            weights[r] = random.nextInt(0, 5) * 0.5;
            rows.add(RowFactory.create((long) r, b, s, i, l, f, d, m, weights[r]));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("b", DataTypes.ByteType)
                .add("s", DataTypes.ShortType).add("i", DataTypes.IntegerType).add("l", DataTypes.LongType)
                .add("f", DataTypes.FloatType).add("d", DataTypes.DoubleType).add("m", DataTypes.createDecimalType(20, 2))
                .add("w", DataTypes.DoubleType);
        typedTable = spark.createDataFrame(rows, schema).repartition(3).cache();
    }

    private static Row[] byId(Dataset<Row> data, int rows) {
        Row[] out = new Row[rows];
        for (Row row : data.collectAsList()) {
            out[(int) row.getLong(row.fieldIndex("id"))] = row;
        }
        return out;
    }

    private static void assertStatistics(ExactReference reference, FeatureStatistics statistics, VarianceMode mode) {
        for (int j = 0; j < statistics.numFeatures(); j++) {
            double variance = mode == VarianceMode.SAMPLE ? reference.sampleVariance(j) : reference.populationVariance(j);
            assertClose(reference.mean(j), statistics.mean()[j], TIGHT, Math.sqrt(variance), "mean of feature " + j);
            assertRelative(variance, statistics.variance(mode)[j], TIGHT, "variance of feature " + j);
        }
    }

    @Test
    void everyNumericScalarTypeMatchesTheReferenceInOnePass() {
        BatchNormalizationModel model = new BatchNormalization().setInputCols(TYPED).setOutputCols(TYPED_OUT)
                .fit(typedTable);
        ExactReference reference = ExactReference.of(typedValues);
        assertEquals(TYPED.length, model.numFeatures());
        assertStatistics(reference, model.statistics(), VarianceMode.POPULATION);
        Dataset<Row> transformed = model.transform(typedTable);
        for (String output : TYPED_OUT) {
            assertEquals(DataTypes.DoubleType, transformed.schema().apply(output).dataType());
        }
        Row[] out = byId(transformed, ROWS);
        for (int r = 0; r < ROWS; r++) {
            for (int j = 0; j < TYPED.length; j++) {
                double expected = reference.normalize(j, typedValues[r][j], false, 1e-5, 1.0, 0.0, true, true);
                assertClose(expected, out[r].getDouble(out[r].fieldIndex(TYPED_OUT[j])), TIGHT, 1.0,
                        "row " + r + " column " + TYPED[j]);
            }
        }
    }

    @Test
    void scalarColumnsGiveExactlyTheNumbersOfTheSameDataAsAVector() {
        // VectorAssembler compresses rows with zeros into sparse vectors; array_to_vector makes every row dense, so both
        // inputs present the same dense rows in the same order. One partition, because Spark merges the summaries of
        // several partitions in the order their tasks finish, which moves the last bits of floating-point merges.
        Dataset<Row> assembled = new VectorAssembler().setInputCols(TYPED).setOutputCol("sparseOrDense")
                .transform(typedTable.coalesce(1)).withColumn("features", org.apache.spark.ml.functions.array_to_vector(
                        org.apache.spark.ml.functions.vector_to_array(org.apache.spark.sql.functions.col("sparseOrDense"),
                                "float64")));
        BatchNormalizationModel fromColumns = new BatchNormalization().setInputCols(TYPED).setOutputCols(TYPED_OUT)
                .setWeightCol("w").fit(assembled);
        BatchNormalizationModel fromVector = new BatchNormalization().setOutputCol("y").setWeightCol("w").fit(assembled);
        assertEquals(fromVector.statistics(), fromColumns.statistics(), "identical statistics, bit for bit");
        Row[] columns = byId(fromColumns.transform(assembled), ROWS);
        Row[] vectors = byId(fromVector.transform(assembled), ROWS);
        for (int r = 0; r < ROWS; r++) {
            Vector y = vectors[r].getAs("y");
            for (int j = 0; j < TYPED.length; j++) {
                assertEquals(y.apply(j), columns[r].getDouble(columns[r].fieldIndex(TYPED_OUT[j])), "row " + r);
            }
        }
    }

    @Test
    void scalarColumnTransformIsPlainSqlWithNoUdf() {
        BatchNormalizationModel model = new BatchNormalization().setInputCols("d", "i").setOutputCols("d_bn", "i_bn")
                .fit(typedTable);
        for (String policy : new String[] {"skip", "keep"}) {
            Dataset<Row> transformed = model.setHandleInvalid(policy).transform(typedTable);
            transformed.collectAsList();
            PlanShape.assertCompiledSql(transformed, "d_bn", "i_bn");
        }
        // Under "error" the outputs are the same compiled SQL; a function named in the row filter runs only for a row
        // whose sum is not finite, to name the invalid value (a cached table's scan carries the filter too).
        Dataset<Row> transformed = model.setHandleInvalid("error").transform(typedTable);
        transformed.collectAsList();
        List<String> problems = PlanShape.problems(transformed, true, "d_bn", "i_bn");
        assertTrue(problems.stream().anyMatch(problem -> problem.equals(
                "expression ScalaUDF in Filter calls a user-defined function")), problems.toString());
        assertTrue(problems.stream().allMatch(problem -> problem.matches(
                "expression ScalaUDF in (Filter|InMemoryTableScan) calls a user-defined function")), problems.toString());
    }

    @Test
    void arrayColumnTransformIsPlainSqlWithNoUdf() {
        Dataset<Row> data = arrays(Data.dense(54, ROWS, 3), false);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(data);
        for (String policy : new String[] {"error", "skip", "keep"}) {
            Dataset<Row> transformed = model.setHandleInvalid(policy).transform(data);
            transformed.collectAsList();
            // Plain SQL, not compiled: Spark 4.2 evaluates the higher-order function transform(array, lambda) that maps
            // each element outside whole-stage code generation (CodegenFallback), so its projection is interpreted.
            PlanShape.assertPlainSql(transformed, "y");
        }
    }

    /** The negative controls: the same column computed by user code, which the plan check must reject. */
    @Test
    void thePlanCheckRejectsAUdf() {
        UDF1<Double, Double> doubled = x -> 2 * x;
        Dataset<Row> viaUdf = typedTable.withColumn("d_bn",
                functions.udf(doubled, DataTypes.DoubleType).apply(functions.col("d")));
        viaUdf.collectAsList();
        List<String> problems = PlanShape.problems(viaUdf, true, "d_bn");
        assertTrue(problems.stream().anyMatch(p -> p.contains("ScalaUDF")), problems.toString());
        assertThrows(AssertionError.class, () -> PlanShape.assertPlainSql(viaUdf, "d_bn"));
    }

    @Test
    void thePlanCheckRejectsADatasetMapPartitions() {
        StructType withOutput = typedTable.schema().add("d_bn", DataTypes.DoubleType);
        Dataset<Row> viaMapPartitions = typedTable.mapPartitions(new AppendDoubled(typedTable.schema().fieldIndex("d")),
                Encoders.row(withOutput));
        viaMapPartitions.collectAsList();
        List<String> problems = PlanShape.problems(viaMapPartitions, true, "d_bn");
        assertTrue(problems.stream().anyMatch(p -> p.contains("MapPartitionsExec")), problems.toString());
        assertThrows(AssertionError.class, () -> PlanShape.assertPlainSql(viaMapPartitions, "d_bn"));
    }

    @Test
    void thePlanCheckRejectsAnRddMapPartitions() {
        // The string match this check replaced let this one through: the RDD's code is invisible in the plan, which
        // shows a compiled scan and no "udf".
        StructType withOutput = typedTable.schema().add("d_bn", DataTypes.DoubleType);
        AppendDoubled append = new AppendDoubled(typedTable.schema().fieldIndex("d"));
        Dataset<Row> viaRdd = spark.createDataFrame(typedTable.javaRDD().mapPartitions(append::call), withOutput);
        viaRdd.collectAsList();
        List<String> problems = PlanShape.problems(viaRdd, true, "d_bn");
        assertTrue(problems.stream().anyMatch(p -> p.contains("scans an RDD")), problems.toString());
        assertThrows(AssertionError.class, () -> PlanShape.assertPlainSql(viaRdd, "d_bn"));
    }

    /** Appends twice one double column to each row, in user code. */
    private static final class AppendDoubled implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final int column;

        AppendDoubled(int column) {
            this.column = column;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            List<Row> out = new ArrayList<>();
            rows.forEachRemaining(row -> {
                Object[] values = new Object[row.size() + 1];
                for (int i = 0; i < row.size(); i++) {
                    values[i] = row.get(i);
                }
                values[row.size()] = 2 * row.getDouble(column);
                out.add(RowFactory.create(values));
            });
            return out.iterator();
        }
    }

    private static Dataset<Row> arrays(double[][] values, boolean asFloat) {
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < values.length; r++) {
            Object array;
            if (asFloat) {
                Float[] floats = new Float[values[r].length];
                for (int j = 0; j < floats.length; j++) {
                    floats[j] = (float) values[r][j];
                }
                array = floats;
            } else {
                array = Arrays.stream(values[r]).boxed().toArray(Double[]::new);
            }
            rows.add(RowFactory.create((long) r, array));
        }
        DataType element = asFloat ? DataTypes.FloatType : DataTypes.DoubleType;
        StructType schema = new StructType().add("id", DataTypes.LongType)
                .add("features", DataTypes.createArrayType(element, true));
        return spark.createDataFrame(rows, schema).repartition(4);
    }

    @Test
    void doubleArraysMatchTheReference() {
        double[][] values = Data.dense(52, ROWS, 5);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").setGamma(1, 2, 3, 4, 5).setBeta(5, 4, 3,
                2, 1).fit(arrays(values, false));
        ExactReference reference = ExactReference.of(values);
        assertStatistics(reference, model.statistics(), VarianceMode.POPULATION);
        Dataset<Row> transformed = model.transform(arrays(values, false));
        assertEquals(DataTypes.createArrayType(DataTypes.DoubleType, true), transformed.schema().apply("y").dataType());
        Row[] out = byId(transformed, ROWS);
        for (int r = 0; r < ROWS; r++) {
            List<Double> y = out[r].getList(out[r].fieldIndex("y"));
            for (int j = 0; j < 5; j++) {
                double expected = reference.normalize(j, values[r][j], false, 1e-5, j + 1, 5 - j, true, true);
                assertClose(expected, y.get(j), TIGHT, 1.0, "row " + r + " feature " + j);
            }
        }
    }

    @Test
    void floatArraysAreFittedExactlyAndStayFloat() {
        double[][] values = Data.dense(53, ROWS, 4);
        double[][] asFloats = new double[ROWS][4];
        for (int r = 0; r < ROWS; r++) {
            for (int j = 0; j < 4; j++) {
                asFloats[r][j] = (float) values[r][j];
            }
        }
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(arrays(values, true));
        ExactReference reference = ExactReference.of(asFloats);
        assertStatistics(reference, model.statistics(), VarianceMode.POPULATION);
        Dataset<Row> transformed = model.transform(arrays(values, true));
        assertEquals(DataTypes.createArrayType(DataTypes.FloatType, true), transformed.schema().apply("y").dataType());
        Row[] out = byId(transformed, ROWS);
        for (int r = 0; r < ROWS; r++) {
            List<Float> y = out[r].getList(out[r].fieldIndex("y"));
            for (int j = 0; j < 4; j++) {
                float expected = (float) reference.normalize(j, asFloats[r][j], false, 1e-5, 1, 0, true, true);
                assertEquals(expected, y.get(j), Math.ulp(expected), "row " + r + " feature " + j);
            }
        }
    }

    @Test
    void arraysOfDifferentLengthsFailNamingTheLengths() {
        Dataset<Row> ragged = arrays(new double[][] {{1, 2, 3}, {4, 5, 6}, {7, 8}}, false).coalesce(1);
        assertEquals("Input column 'features' holds arrays of different sizes: 3 and 2. Every row must have the same"
                + " number of features.", Expect.illegalArgument(() -> new BatchNormalization().fit(ragged)));
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y")
                .fit(arrays(new double[][] {{1, 2, 3}, {4, 5, 7}}, false));
        Exception failure = assertThrows(Exception.class, () -> model.transform(ragged).collectAsList());
        assertTrue(Expect.messagesOf(failure).contains("Input column 'features' has an array of length 2, but the model was"
                + " fitted on 3 features."), Expect.messagesOf(failure));
    }

    @Test
    void weightedStatisticsMatchTheWeightedTwoPassReference() {
        BatchNormalizationModel model = new BatchNormalization().setInputCols(TYPED).setOutputCols(TYPED_OUT)
                .setWeightCol("w").setVarianceMode("sample").fit(typedTable);
        ExactReference reference = ExactReference.weighted(typedValues, weights);
        assertStatistics(reference, model.statistics(), VarianceMode.POPULATION);
        assertStatistics(reference, model.statistics(), VarianceMode.SAMPLE);
        long positive = Arrays.stream(weights).filter(w -> w > 0).count();
        assertEquals(positive, model.count(), "rows of weight zero contribute nothing");
    }

    @Test
    void integerWeightsEqualReplicatedRows() {
        double[][] values = Data.dense(54, 200, 3);
        SplittableRandom random = new SplittableRandom(55);
        List<Row> weighted = new ArrayList<>();
        List<Row> replicated = new ArrayList<>();
        for (int r = 0; r < values.length; r++) {
            int weight = random.nextInt(0, 4);
            weighted.add(RowFactory.create(values[r][0], values[r][1], values[r][2], weight));
            for (int k = 0; k < weight; k++) {
                replicated.add(RowFactory.create(values[r][0], values[r][1], values[r][2], 1));
            }
        }
        StructType schema = new StructType().add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType)
                .add("c", DataTypes.DoubleType).add("w", DataTypes.IntegerType);
        BatchNormalization estimator = new BatchNormalization().setInputCols("a", "b", "c")
                .setOutputCols("a_bn", "b_bn", "c_bn").setWeightCol("w").setVarianceMode("sample");
        FeatureStatistics fromWeights = estimator.fit(spark.createDataFrame(weighted, schema)).statistics();
        FeatureStatistics fromCopies = estimator.fit(spark.createDataFrame(replicated, schema)).statistics();
        // Weights are reliability weights (Spark's Summarizer), so only the population variance equals replication's;
        // the weighted sample variance is checked against the weighted reference above.
        for (int j = 0; j < 3; j++) {
            assertRelative(fromCopies.mean()[j], fromWeights.mean()[j], TIGHT, "mean " + j);
            assertRelative(fromCopies.variance(VarianceMode.POPULATION)[j],
                    fromWeights.variance(VarianceMode.POPULATION)[j], TIGHT, "variance " + j);
        }
    }

    @Test
    void invalidWeightsFailNamingTheWeightColumn() {
        StructType schema = new StructType().add("x", DataTypes.DoubleType).add("w", DataTypes.DoubleType);
        for (Double weight : new Double[] {-1.0, Double.NaN, Double.POSITIVE_INFINITY, null}) {
            Dataset<Row> data = spark.createDataFrame(List.of(RowFactory.create(1.0, 1.0), RowFactory.create(2.0, weight)),
                    schema);
            for (String policy : new String[] {"error", "skip", "keep"}) {
                assertEquals("Weight column 'w' has an invalid value " + weight + ": weights must be finite and >= 0.",
                        Expect.illegalArgument(() -> new BatchNormalization().setInputCols("x").setOutputCols("y").setWeightCol("w")
                                .setHandleInvalid(policy).fit(data)));
            }
        }
        Dataset<Row> text = spark.createDataFrame(List.of(RowFactory.create(1.0, "heavy")),
                new StructType().add("x", DataTypes.DoubleType).add("w", DataTypes.StringType));
        assertEquals("Weight column 'w' must be numeric but has type string.", Expect.illegalArgument(() -> new BatchNormalization()
                .setInputCols("x").setOutputCols("y").setWeightCol("w").fit(text)));
    }

    /** Columns x (clean), a (null, NaN, +Inf, -Inf in rows 1-4), b (NaN in row 5); 12 rows. */
    private static Dataset<Row> withInvalidScalars() {
        Double[] a = {1.0, null, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 6.0, 7.0, 8.0, 9.0, 10.0,
            11.0, 12.0};
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < a.length; r++) {
            rows.add(RowFactory.create((long) r, (double) (r * r), a[r], r == 5 ? Double.NaN : 100.0 - r));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("x", DataTypes.DoubleType)
                .add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType);
        return spark.createDataFrame(rows, schema).repartition(2);
    }

    private static double[][] column(double... values) {
        double[][] rows = new double[values.length][];
        for (int i = 0; i < values.length; i++) {
            rows[i] = new double[] {values[i]};
        }
        return rows;
    }

    @Test
    void handleInvalidErrorFailsFitAndTransformNamingColumnAndValue() {
        Dataset<Row> data = withInvalidScalars();
        BatchNormalization estimator = new BatchNormalization().setInputCols("x", "a", "b").setOutputCols("x1", "a1", "b1");
        String fitMessage = Expect.illegalArgument(() -> estimator.fit(data));
        assertTrue(fitMessage.matches("Input column '(a|b)' has an invalid value (null|NaN|Infinity|-Infinity)\\. Set"
                + " handleInvalid to 'skip'.*"), fitMessage);
        BatchNormalizationModel model = estimator.setHandleInvalid("keep").fit(data).setHandleInvalid("error");
        Exception failure = assertThrows(Exception.class, () -> model.transform(data).collectAsList());
        assertTrue(Expect.messagesOf(failure).matches("(?s).*Input column '(a|b)' has an invalid value (null|NaN|Infinity|"
                + "-Infinity)\\. Set handleInvalid.*"), Expect.messagesOf(failure));
        Dataset<Row> clean = data.filter("id >= 6");
        assertEquals(6, model.transform(clean).count(), "valid rows transform fine under error");
    }

    @Test
    void handleInvalidSkipDropsRowsFromFitAndTransform() {
        Dataset<Row> data = withInvalidScalars();
        BatchNormalizationModel model = new BatchNormalization().setInputCols("x", "a", "b").setOutputCols("x1", "a1", "b1")
                .setHandleInvalid("skip").fit(data);
        assertEquals(7, model.count(), "rows 1-5 are skipped");
        ExactReference reference = ExactReference.of(new double[][] {{0, 1, 100}, {36, 7, 94}, {49, 8, 93},
            {64, 9, 92}, {81, 10, 91}, {100, 11, 90}, {121, 12, 89}});
        assertStatistics(reference, model.statistics(), VarianceMode.POPULATION);
        Row[] out = byId(model.transform(data), 12);
        assertEquals(7, model.transform(data).count());
        for (int r = 1; r <= 5; r++) {
            assertNull(out[r], "row " + r + " is dropped");
        }
        assertClose(reference.normalize(1, 7.0, false, 1e-5, 1, 0, true, true), out[6].getDouble(out[6].fieldIndex("a1")),
                TIGHT, 1.0, "row 6");
    }

    @Test
    void handleInvalidKeepUsesPerFeatureCountsAndPassesValuesThrough() {
        Dataset<Row> data = withInvalidScalars();
        BatchNormalizationModel model = new BatchNormalization().setInputCols("x", "a", "b").setOutputCols("x1", "a1", "b1")
                .setHandleInvalid("keep").fit(data);
        assertEquals(12, model.count());
        assertArrayEquals(new long[] {12, 8, 11}, model.statistics().count());
        ExactReference x = ExactReference.of(column(0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121));
        ExactReference a = ExactReference.of(column(1, 6, 7, 8, 9, 10, 11, 12));
        ExactReference b = ExactReference.of(column(100, 99, 98, 97, 96, 94, 93, 92, 91, 90, 89));
        assertRelative(x.populationVariance(0), model.variance().apply(0), TIGHT, "x");
        assertRelative(a.populationVariance(0), model.variance().apply(1), TIGHT, "a");
        assertRelative(b.populationVariance(0), model.variance().apply(2), TIGHT, "b");
        assertRelative(b.mean(0), model.mean().apply(2), TIGHT, "mean of b");

        Dataset<Row> transformed = model.transform(data);
        assertEquals(12, transformed.count());
        Row[] out = byId(transformed, 12);
        assertTrue(out[1].isNullAt(out[1].fieldIndex("a1")), "null stays null");
        assertTrue(Double.isNaN(out[2].getDouble(out[2].fieldIndex("a1"))), "NaN stays NaN");
        assertEquals(Double.POSITIVE_INFINITY, out[3].getDouble(out[3].fieldIndex("a1")));
        assertEquals(Double.NEGATIVE_INFINITY, out[4].getDouble(out[4].fieldIndex("a1")));
        assertTrue(Double.isNaN(out[5].getDouble(out[5].fieldIndex("b1"))));
        assertClose(a.normalize(0, 6.0, false, 1e-5, 1, 0, true, true), out[5].getDouble(out[5].fieldIndex("a1")), TIGHT,
                1.0, "a in row 5");
    }

    @Test
    void handleInvalidKeepFailsForAFeatureWithNoValidValue() {
        Dataset<Row> data = withInvalidScalars().withColumn("empty", org.apache.spark.sql.functions.lit(Double.NaN));
        assertEquals("Feature 'empty' has no value with positive weight (weight 0.0, squared weight 0.0)."
                + " Every feature needs at least one valid value.", Expect.illegalArgument(() -> new BatchNormalization()
                .setInputCols("x", "empty").setOutputCols("x1", "e1").setHandleInvalid("keep").fit(data)));
    }

    @Test
    void everyPolicyWorksOnArraysAndVectors() {
        double[][] values = {{1, 2}, {Double.NaN, 3}, {4, Double.POSITIVE_INFINITY}, {5, 6}, {7, 9}};
        Dataset<Row> arrayData = arrays(values, false).union(spark.createDataFrame(
                List.of(RowFactory.create(5L, null)), arrays(values, false).schema()));
        Dataset<Row> vectorData = new VectorAssembler().setInputCols(new String[] {"p", "q"}).setOutputCol("features")
                .setHandleInvalid("keep").transform(arrayData.selectExpr("id", "features[0] as p", "features[1] as q"));
        for (Dataset<Row> data : List.of(arrayData, vectorData)) {
            String error = Expect.illegalArgument(() -> new BatchNormalization().setOutputCol("y").fit(data));
            assertTrue(error.matches("Input column 'features' (has an invalid value (NaN at index 0|Infinity at index 1)"
                    + "|contains a null array)\\. Set handleInvalid.*"), error);

            BatchNormalizationModel skip = new BatchNormalization().setOutputCol("y").setHandleInvalid("skip").fit(data);
            assertEquals(3, skip.count());
            assertRelative(ExactReference.of(column(1, 5, 7)).populationVariance(0), skip.variance().apply(0), TIGHT,
                    "skip");
            assertEquals(3, skip.transform(data).count());

            BatchNormalizationModel keep = new BatchNormalization().setOutputCol("y").setHandleInvalid("keep").fit(data);
            assertRelative(ExactReference.of(column(1, 4, 5, 7)).populationVariance(0), keep.variance().apply(0), TIGHT,
                    "keep, feature 0");
            assertRelative(ExactReference.of(column(2, 3, 6, 9)).populationVariance(0), keep.variance().apply(1), TIGHT,
                    "keep, feature 1");
            assertEquals(data.count(), keep.transform(data).count());
        }
        Row[] kept = byId(new BatchNormalization().setOutputCol("y").setHandleInvalid("keep").fit(arrayData)
                .transform(arrayData), 6);
        assertTrue(Double.isNaN(kept[1].<Double>getList(kept[1].fieldIndex("y")).get(0)));
        assertEquals(Double.POSITIVE_INFINITY, kept[2].<Double>getList(kept[2].fieldIndex("y")).get(1));
        assertTrue(kept[5].isNullAt(kept[5].fieldIndex("y")), "a null array stays null");
    }

    @Test
    void valuesUpTo1e150GiveFiniteStatisticsAndLargerSpreadsFailClearly() {
        SplittableRandom random = new SplittableRandom(56);
        double[][] values = new double[400][];
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < values.length; r++) {
            values[r] = new double[] {1e150 * Data.gaussian(random), -1e150 + 1e140 * Data.gaussian(random)};
            rows.add(RowFactory.create(values[r][0], values[r][1]));
        }
        Dataset<Row> data = spark.createDataFrame(rows, new StructType().add("u", DataTypes.DoubleType)
                .add("v", DataTypes.DoubleType)).repartition(3);
        BatchNormalizationModel model = new BatchNormalization().setInputCols("u", "v").setOutputCols("u1", "v1").fit(data);
        assertStatistics(ExactReference.of(values), model.statistics(), VarianceMode.POPULATION);

        Dataset<Row> huge = spark.createDataFrame(List.of(RowFactory.create(1e300, 0.0), RowFactory.create(-1e300, 0.0)),
                data.schema());
        assertEquals("Feature 'u' has a non-finite variance (Infinity): the data contains NaN or infinite"
                + " values, or its variance exceeds the largest double.", Expect.illegalArgument(() -> new BatchNormalization()
                .setInputCols("u", "v").setOutputCols("u1", "v1").fit(huge)));
    }

    @Test
    void singleAndMultiColumnParamsAreCheckedLikeSparksImputer() {
        assertEquals("Set either inputCol or inputCols, not both.", Expect.illegalArgument(() -> new BatchNormalization()
                .setInputCol("d").setInputCols("d").setOutputCols("o").fit(typedTable)));
        assertEquals("Param outputCols must be set when inputCols is: one output column per input column.",
                Expect.illegalArgument(() -> new BatchNormalization().setInputCols("d").fit(typedTable)));
        assertEquals("Params inputCols and outputCols must have the same length, but inputCols has 2 columns and"
                + " outputCols has 1.", Expect.illegalArgument(() -> new BatchNormalization().setInputCols("d", "i").setOutputCols("o")
                .fit(typedTable)));
        assertEquals("Input column 'd' is named more than once in inputCols.", Expect.illegalArgument(() -> new BatchNormalization()
                .setInputCols("d", "d").setOutputCols("o", "p").fit(typedTable)));
        assertEquals("Output column 'o' is named more than once in outputCols.", Expect.illegalArgument(() -> new BatchNormalization()
                .setInputCols("d", "i").setOutputCols("o", "o").fit(typedTable)));
        assertEquals("Param outputCols goes with inputCols; with inputCol set outputCol.", Expect.illegalArgument(() ->
                new BatchNormalization().setOutputCols("o").fit(typedTable)));
        Dataset<Row> text = typedTable.selectExpr("cast(d as string) as name", "d");
        assertEquals("Input column 'name' must be numeric (byte, short, int, long, float, double or decimal) but has"
                + " type string.", Expect.illegalArgument(() -> new BatchNormalization().setInputCols("d", "name")
                .setOutputCols("o", "p").fit(text)));
        assertEquals("Param gamma has 2 values, but inputCols (d, i, l) has 3 features. Give one value per feature, or"
                + " none for the default.", Expect.illegalArgument(() -> new BatchNormalization().setInputCols("d", "i", "l")
                .setOutputCols("o", "p", "q").setGamma(1, 2).fit(typedTable)));
        assertEquals("Weight column 'nope' does not exist. Available columns: id, b, s, i, l, f, d, m, w.",
                Expect.illegalArgument(() -> new BatchNormalization().setInputCols("d").setOutputCols("o").setWeightCol("nope")
                        .fit(typedTable)));
    }

    @Test
    void decimalValuesAreReadExactly() {
        BigDecimal sum = BigDecimal.ZERO;
        for (double[] row : typedValues) {
            sum = sum.add(new BigDecimal(row[6]));
        }
        double expectedMean = sum.divide(BigDecimal.valueOf(ROWS), 40, RoundingMode.HALF_EVEN).doubleValue();
        BatchNormalizationModel model = new BatchNormalization().setInputCols("m").setOutputCols("m_bn").fit(typedTable);
        assertRelative(expectedMean, model.mean().apply(0), TIGHT, "mean of a decimal column");
    }
}
