package io.github.batchnorm.testing;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.StageInfo;
import org.apache.spark.storage.RDDInfo;

/**
 * Records the shape of every {@code treeAggregate} that Spark runs while it listens, as Spark's scheduler saw it: how many
 * partitions the aggregation read, and how many shuffle levels its tree had. Every RDD that {@code treeAggregate} creates
 * carries the operation scope "treeAggregate"; the first stage with such an RDD reads the input partitions, and each
 * further one reads the output of one tree level.
 */
public final class TreeAggregations extends SparkListener implements AutoCloseable {
    /** One aggregation: its input partitions and its tree levels (0: the driver merges the partition summaries). */
    public record Shape(int inputPartitions, int levels) {
    }

    private final SparkContext context;
    private final List<Shape> shapes = new ArrayList<>();

    private TreeAggregations(SparkContext context) {
        this.context = context;
    }

    /** Starts listening, after the events of earlier work have been delivered. */
    public static TreeAggregations listen(SparkContext context) {
        TreeAggregations recorder = new TreeAggregations(context);
        Expect.drain(context);
        context.addSparkListener(recorder);
        return recorder;
    }

    @Override
    public synchronized void onJobStart(SparkListenerJobStart jobStart) {
        List<StageInfo> tree = new ArrayList<>();
        for (StageInfo stage : SparkLineTesting.asJava(jobStart.stageInfos())) {
            if (SparkLineTesting.asJava(stage.rddInfos()).stream().anyMatch(TreeAggregations::inTreeAggregate)) {
                tree.add(stage);
            }
        }
        if (!tree.isEmpty()) {
            tree.sort(Comparator.comparingInt(StageInfo::stageId));
            shapes.add(new Shape(tree.get(0).numTasks(), tree.size() - 1));
        }
    }

    private static boolean inTreeAggregate(RDDInfo rdd) {
        return rdd.scope().isDefined() && rdd.scope().get().name().equals("treeAggregate");
    }

    /** The aggregations seen so far, oldest first, once every event posted so far has been delivered. */
    public List<Shape> shapes() {
        Expect.drain(context);
        synchronized (this) {
            return List.copyOf(shapes);
        }
    }

    /** The one aggregation seen so far; fails if there were none or several. */
    public Shape only() {
        List<Shape> seen = shapes();
        if (seen.size() != 1) {
            throw new AssertionError("expected exactly one treeAggregate, saw " + seen);
        }
        return seen.get(0);
    }

    /** Forgets what it has seen (after delivering what is queued), to record the next piece of work alone. */
    public void clear() {
        Expect.drain(context);
        synchronized (this) {
            shapes.clear();
        }
    }

    @Override
    public void close() {
        context.removeSparkListener(this);
    }
}
