package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.SparkTestSession;
import io.github.batchnorm.testing.TreeAggregations;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("summation=exact gives the same bits for any partitioning, order, depth and retry")
class BitIdenticalStatisticsTest {
    private static final int[] PARTITIONINGS = {1, 2, 7, 64};
    private static Dataset<Row> table;

    /** Adaptive execution may merge small shuffle partitions; the partition counts here are the cases under test. */
    private static final String COALESCE = "spark.sql.adaptive.coalescePartitions.enabled";
    private static String coalesceBefore;

    @BeforeAll
    static void makeTable() {
        coalesceBefore = SparkTestSession.get().conf().get(COALESCE);
        SparkTestSession.get().conf().set(COALESCE, "false");
        double[][] dense = Data.dense(91, 3000, 4);
        double[][] sparse = Data.sparse(92, 3000, 6, 0.2);
        SplittableRandom random = new SplittableRandom(93);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < dense.length; i++) {
            rows.add(RowFactory.create((long) i, dense[i][0], dense[i][1], dense[i][2], dense[i][3],
                    org.apache.spark.ml.linalg.Vectors.dense(sparse[i]).compressed(), random.nextInt(0, 5) * 0.5));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("a", DataTypes.DoubleType)
                .add("b", DataTypes.DoubleType).add("c", DataTypes.DoubleType).add("d", DataTypes.DoubleType)
                .add("sparse", org.apache.spark.ml.linalg.SQLDataTypes.VectorType()).add("w", DataTypes.DoubleType);
        Dataset<Row> base = SparkTestSession.get().createDataFrame(rows, schema);
        table = new VectorAssembler().setInputCols(new String[] {"a", "b", "c", "d"}).setOutputCol("dense")
                .transform(base).cache();
        table.count();
    }

    @AfterAll
    static void restoreCoalescing() {
        SparkTestSession.get().conf().set(COALESCE, coalesceBefore);
    }

    private static List<BatchNormalization> estimators() {
        return List.of(
                new BatchNormalization().setInputCol("dense").setOutputCol("y"),
                new BatchNormalization().setInputCol("sparse").setOutputCol("y"),
                new BatchNormalization().setInputCol("dense").setOutputCol("y").setWeightCol("w"),
                new BatchNormalization().setInputCols("a", "b", "c", "d").setOutputCols("p", "q", "r", "s")
                        .setWeightCol("w"));
    }

    private static FeatureStatistics fit(BatchNormalization estimator, Dataset<Row> data) {
        return estimator.copy(new org.apache.spark.ml.param.ParamMap()).setSummation("exact").fit(data).statistics();
    }

    /**
     * Tree levels that Spark's {@code treeAggregate} builds over each partitioning (the loop in {@code RDD.treeAggregate}:
     * scale = max(ceil(n^(1/depth)), 2), and a level while n > scale + ceil(n / scale)). At depth 4, 64 partitions give a
     * three-level tree; four or fewer partitions give none at any depth, which is why the cases need more than the
     * session's four shuffle partitions.
     */
    private static final Map<Integer, Integer> LEVELS_AT_DEPTH_2 = Map.of(1, 0, 2, 0, 7, 1, 64, 1);
    private static final Map<Integer, Integer> LEVELS_AT_DEPTH_4 = Map.of(1, 0, 2, 0, 7, 1, 64, 3);

    @Test
    void partitioningShuffledOrderAndDepthDoNotChangeABit() {
        try (TreeAggregations trees = TreeAggregations.listen(SparkTestSession.get().sparkContext())) {
            for (BatchNormalization estimator : estimators()) {
                FeatureStatistics reference = fit(estimator, table.coalesce(1));
                for (int partitions : PARTITIONINGS) {
                    // Hash-partitioned on a random key into exactly that many partitions (an explicit number, which
                    // adaptive execution keeps), then each partition put in random order.
                    Dataset<Row> shuffled = table.repartition(partitions, functions.rand(partitions))
                            .sortWithinPartitions(functions.rand(partitions + 1));
                    Dataset<Row> roundRobin = table.repartition(partitions);
                    assertEquals(partitions, roundRobin.rdd().getNumPartitions(), "round-robin partitions");
                    assertEquals(partitions, shuffled.rdd().getNumPartitions(), "shuffled partitions");

                    trees.clear();
                    assertEquals(reference, fit(estimator, roundRobin), partitions + " partitions");
                    assertEquals(new TreeAggregations.Shape(partitions, LEVELS_AT_DEPTH_2.get(partitions)), trees.only(),
                            partitions + " partitions at depth 2");

                    trees.clear();
                    assertEquals(reference, fit(estimator, shuffled), partitions + " partitions, shuffled");
                    assertEquals(new TreeAggregations.Shape(partitions, LEVELS_AT_DEPTH_2.get(partitions)), trees.only(),
                            partitions + " shuffled partitions at depth 2");

                    trees.clear();
                    assertEquals(reference, fit(estimator.copy(new org.apache.spark.ml.param.ParamMap())
                            .setAggregationDepth(4), shuffled), partitions + " partitions, depth 4");
                    assertEquals(new TreeAggregations.Shape(partitions, LEVELS_AT_DEPTH_4.get(partitions)), trees.only(),
                            partitions + " shuffled partitions at depth 4");
                }
            }
        }
    }

    @Test
    void theDeepestCaseBuildsATreeOfMoreThanOneLevel() {
        // The claim "any depth" is only tested if some case merges through more than one level of executors.
        int partitions = Arrays.stream(PARTITIONINGS).max().getAsInt();
        assertTrue(LEVELS_AT_DEPTH_4.get(partitions) > 1);
        try (TreeAggregations trees = TreeAggregations.listen(SparkTestSession.get().sparkContext())) {
            fit(new BatchNormalization().setInputCol("dense").setOutputCol("y").setAggregationDepth(4),
                    table.repartition(partitions));
            assertTrue(trees.only().levels() > 1, "levels at depth 4 over " + partitions + " partitions: " + trees.only());
        }
    }

    @Test
    void aRetriedTaskDoesNotChangeABit() throws InterruptedException {
        FailedTasks failedTasks = new FailedTasks();
        SparkTestSession.get().sparkContext().addSparkListener(failedTasks);
        Dataset<Row> flaky = table.repartition(7).mapPartitions(new FailFirstAttempt(), Encoders.row(table.schema()));
        try {
            for (BatchNormalization estimator : estimators()) {
                FeatureStatistics reference = fit(estimator, table.coalesce(1));
                long before = failedTasks.count.get();
                assertEquals(reference, fit(estimator, flaky));
                // Listener events arrive asynchronously; the failures happened before the job could finish.
                for (int wait = 0; wait < 100 && failedTasks.count.get() == before; wait++) {
                    Thread.sleep(50);
                }
                assertNotEquals(before, failedTasks.count.get(), "the injected failures happened and were retried");
            }
        } finally {
            SparkTestSession.get().sparkContext().removeSparkListener(failedTasks);
        }
    }

    /** Counts tasks that ended in failure. */
    private static final class FailedTasks extends SparkListener {
        final AtomicLong count = new AtomicLong();

        @Override
        public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
            if (!(taskEnd.reason() instanceof org.apache.spark.Success$)) {
                count.incrementAndGet();
            }
        }
    }

    @Test
    void fastSummationIsCloseButNotPromisedToBeIdentical() {
        // The default is checked against the exact mode to 1e-12: the contract of "fast" is accuracy, not identity.
        for (BatchNormalization estimator : estimators()) {
            FeatureStatistics exact = fit(estimator, table.repartition(7));
            FeatureStatistics fast = estimator.fit(table.repartition(7)).statistics();
            for (int j = 0; j < exact.numFeatures(); j++) {
                double variance = exact.variance(io.github.batchnorm.stats.VarianceMode.POPULATION)[j];
                io.github.batchnorm.testing.Tolerance.assertClose(exact.mean()[j], fast.mean()[j], 1e-12,
                        Math.sqrt(variance), "mean " + j);
                io.github.batchnorm.testing.Tolerance.assertRelative(variance,
                        fast.variance(io.github.batchnorm.stats.VarianceMode.POPULATION)[j], 1e-12, "variance " + j);
            }
        }
    }

    /** Fails the first attempt of every other task after a few rows, as a lost executor would. */
    private static final class FailFirstAttempt implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            TaskContext task = TaskContext.get();
            if (task.attemptNumber() > 0 || task.partitionId() % 2 == 1) {
                return rows;
            }
            return new Iterator<>() {
                private int read;

                @Override
                public boolean hasNext() {
                    return rows.hasNext();
                }

                @Override
                public Row next() {
                    if (++read == 10) {
                        throw new IllegalStateException("injected failure of the first attempt");
                    }
                    return rows.next();
                }
            };
        }
    }
}
