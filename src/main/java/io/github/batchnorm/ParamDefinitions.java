package io.github.batchnorm;

import io.github.batchnorm.spark.HandleInvalid;
import io.github.batchnorm.stats.Summation;
import io.github.batchnorm.stats.VarianceMode;
import java.io.Serializable;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;
import scala.runtime.AbstractFunction1;

/**
 * The one place where the params of {@link BatchNormalization} and {@link BatchNormalizationModel} are declared, documented
 * and given their defaults. Each stage owns one instance, created with the stage as the params' parent. Every doc ends in
 * {@code Default: <value>}; the command line's help and the README's param table are derived from
 * or checked against these docs (see the tests of this package and of the job).
 */
final class ParamDefinitions implements Serializable {
    private static final long serialVersionUID = 1L;

    static final double DEFAULT_EPSILON = 1e-5;
    static final int DEFAULT_AGGREGATION_DEPTH = 2;

    final Param<String> inputCol;
    final Param<String> outputCol;
    final StringArrayParam inputCols;
    final StringArrayParam outputCols;
    final Param<String> weightCol;
    final Param<String> handleInvalid;
    final DoubleParam epsilon;
    final BooleanParam center;
    final BooleanParam scale;
    final DoubleArrayParam gamma;
    final DoubleArrayParam beta;
    final Param<String> varianceMode;
    final IntParam aggregationDepth;
    final DoubleParam momentum;
    final Param<String> summation;
    final StringArrayParam groupCols;
    final Param<String> handleUnseenGroup;
    final IntParam minGroupCount;

    ParamDefinitions(Params owner) {
        inputCol = new Param<>(owner, "inputCol",
                "input column of ML Vectors (dense or sparse), array<double> or array<float>, one feature per element;"
                        + " not used when inputCols is set. Default: 'features'");
        outputCol = new Param<>(owner, "outputCol",
                "output column for inputCol, of the input's type; must not already exist. Default: uid + '__output'");
        inputCols = new StringArrayParam(owner, "inputCols",
                "numeric scalar input columns (byte, short, int, long, float, double, decimal), one feature each, all"
                        + " fitted in one pass; set instead of inputCol. Default: not set");
        outputCols = new StringArrayParam(owner, "outputCols",
                "double output columns, one per inputCols entry; required with inputCols. Default: not set");
        weightCol = new Param<>(owner, "weightCol",
                "numeric column of row weights (finite, >= 0); rows of weight 0 contribute nothing; not set or empty"
                        + " means every row has weight 1. Default: not set");
        handleInvalid = new Param<>(owner, "handleInvalid",
                "what to do with null, NaN and infinite feature values: 'error' (fail, naming the column, index and"
                        + " value), 'skip' (leave such rows out of fit and transform), or 'keep' (leave each such value"
                        + " out of its feature's statistics and pass it through the transform). Default: 'error'",
                ParamValidators.inArray((Object) HandleInvalid.paramValues()));
        epsilon = new DoubleParam(owner, "epsilon",
                "added to the variance before the square root, so constant features do not divide by zero; finite and"
                        + " >= 0. Default: 1e-5",
                new FiniteAtLeast(0.0));
        center = new BooleanParam(owner, "center",
                "whether to subtract the mean and add beta; when false, sparse input stays sparse. Default: true");
        scale = new BooleanParam(owner, "scale",
                "whether to divide by sqrt(variance + epsilon) and multiply by gamma. Default: true");
        gamma = new DoubleArrayParam(owner, "gamma",
                "per-feature scale applied after normalising; finite values, one per feature, or empty for 1.0 on every"
                        + " feature. Default: empty",
                new AllFinite());
        beta = new DoubleArrayParam(owner, "beta",
                "per-feature offset added after normalising; finite values, one per feature, or empty for 0.0 on every"
                        + " feature. Default: empty",
                new AllFinite());
        varianceMode = new Param<>(owner, "varianceMode",
                "variance convention: 'population' (divide by n, as batch normalisation does) or 'sample' (divide by"
                        + " n - 1, as Spark's StandardScaler does). Default: 'population'",
                ParamValidators.inArray((Object) VarianceMode.paramValues()));
        aggregationDepth = new IntParam(owner, "aggregationDepth",
                "depth of the tree that merges the per-partition summaries (treeAggregate); >= 2. Default: 2",
                ParamValidators.gtEq(2));
        momentum = new DoubleParam(owner, "momentum",
                "how update moves the statistics: not set, it merges the new data exactly (the result equals a fit on"
                        + " all the data); set, it takes an exponential moving average, running = momentum * running +"
                        + " (1 - momentum) * batch, of the batch mean and of the batch variance in varianceMode (Keras'"
                        + " convention; PyTorch's momentum is 1 - this); in [0, 1); fit ignores it. Default: not set",
                ParamValidators.inRange(0.0, 1.0, true, false));

        summation = new Param<>(owner, "summation",
                "how the fit accumulates: 'fast' (double precision, as fast as reading the data; the last bits may differ"
                        + " between partitionings) or 'exact' (exact sums: bit-identical statistics for any partitioning,"
                        + " order and retry, within one ulp of the exact values; 1.3 to 1.9 times the fast fit's time on"
                        + " the benchmark's dense, sparse and scalar shapes). Default: 'fast'",
                ParamValidators.inArray((Object) Summation.paramValues()));

        groupCols = new StringArrayParam(owner, "groupCols",
                "columns whose values define groups (numbers, strings, dates, booleans; null is a group of its own, as in"
                        + " SQL GROUP BY); when set, the fit learns the mean and variance per group and per feature, and"
                        + " the transform normalises each row with its group's statistics; empty: one set of statistics"
                        + " for all rows. Default: empty",
                new NoBlankNames());
        handleUnseenGroup = new Param<>(owner, "handleUnseenGroup",
                "what the transform does with a row whose group the fit did not see: 'error' (fail, naming the group),"
                        + " 'global' (use the statistics of all training rows) or 'skip' (drop the row). Default: 'error'",
                ParamValidators.inArray((Object) new String[] {"error", "global", "skip"}));
        minGroupCount = new IntParam(owner, "minGroupCount",
                "groups with fewer training rows than this are normalised with the statistics of all training rows"
                        + " instead of their own; >= 1. Default: 1",
                ParamValidators.gtEq(1));

        owner.setDefault(groupCols, new String[0]);
        owner.setDefault(handleUnseenGroup, "error");
        owner.setDefault(minGroupCount, 1);
        owner.setDefault(inputCol, "features");
        owner.setDefault(summation, Summation.FAST.paramValue());
        owner.setDefault(handleInvalid, HandleInvalid.ERROR.paramValue());
        owner.setDefault(outputCol, owner.uid() + "__output");
        owner.setDefault(epsilon, DEFAULT_EPSILON);
        owner.setDefault(center, true);
        owner.setDefault(scale, true);
        owner.setDefault(gamma, new double[0]);
        owner.setDefault(beta, new double[0]);
        owner.setDefault(varianceMode, VarianceMode.POPULATION.paramValue());
        owner.setDefault(aggregationDepth, DEFAULT_AGGREGATION_DEPTH);
    }

    /** Accepts finite doubles at or above a bound. Spark's gtEq accepts +Infinity, which would make every output zero. */
    private static final class FiniteAtLeast extends AbstractFunction1<Object, Object> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final double lowerBound;

        FiniteAtLeast(double lowerBound) {
            this.lowerBound = lowerBound;
        }

        @Override
        public Object apply(Object value) {
            double v = (Double) value;
            return Double.isFinite(v) && v >= lowerBound;
        }
    }

    /** Accepts arrays of column names none of which is empty or blank. */
    private static final class NoBlankNames extends AbstractFunction1<String[], Object> implements Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public Object apply(String[] names) {
            for (String name : names) {
                if (name == null || name.isBlank()) {
                    return false;
                }
            }
            return true;
        }
    }

    /** Accepts arrays whose every value is finite. */
    private static final class AllFinite extends AbstractFunction1<double[], Object> implements Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public Object apply(double[] values) {
            for (double v : values) {
                if (!Double.isFinite(v)) {
                    return false;
                }
            }
            return true;
        }
    }
}
