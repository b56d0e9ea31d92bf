package io.github.batchnorm.testing;

import io.github.batchnorm.stats.FeatureAccumulator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A reproducible sequence of weighted rows, each of which reaches an accumulator through one of its four add paths. The
 * rows are drawn from a small {@link Spec} (seed, length, one kind per feature, how the paths and the weights are mixed),
 * so that a failing case prints, in one line, everything needed to rebuild its sequence.
 */
public final class RowSequence {

    /** The accumulator method a row goes through. */
    public enum Path {
        /** {@code add}: every value finite and used. */
        DENSE,
        /** {@code addWithMissing}: some values NaN or infinite, missing for their own feature only. */
        DENSE_WITH_MISSING,
        /** {@code addSparse}: the zeros left out, now and then a zero stored explicitly, buffers longer than the row. */
        SPARSE,
        /** {@code addSparseWithMissing}: as {@code SPARSE}, with some stored values NaN or infinite. */
        SPARSE_WITH_MISSING
    }

    /** How the paths mix along the sequence. */
    public enum PathMix {
        /**
         * Dense rows only: the one case in which the fast accumulator uses its 256-row blocks, so it must be common.
         */
        DENSE_ONLY,
        /** Dense rows with a rare row of another path, which switches the fast accumulator to per-feature weights. */
        MOSTLY_DENSE,
        /** Every path equally likely. */
        ANY,
        /** Only the two paths with missing values: with few rows, a feature may have no value at all. */
        MISSING_ONLY,
        /** Only the two sparse paths: the fast accumulator keeps its touched-only form throughout. */
        SPARSE_ONLY
    }

    /** How rows are weighted. */
    public enum WeightMix {
        ONES,
        /** 0, 1, 2 or 3: zero-weight rows, and sums that stay exact in double. */
        SMALL_INTEGERS,
        /** From 0.01 to 10, log-uniform, and now and then 0: sums that round. */
        FRACTIONAL,
        /** Each row's weight from one of the others. */
        ANY
    }

    /** How a feature's values are drawn. */
    public enum FeatureKind {
        /** A large offset with a small spread: {@code c + s * N(0,1)} with {@code |c|} up to 1e8 and {@code s/|c|} as low as 1e-12. */
        OFFSET,
        /** Signs and magnitudes mixed: {@code ±10^u} with {@code u} uniform in [-8, 8]. */
        MIXED_MAGNITUDES,
        /** {@code s * N(0,1)} around zero, at one scale {@code s} from 1e-8 to 1e8. */
        CENTRED,
        /** One value repeated, of magnitude 1e-8 to 1e8: a variance that must come out exactly zero. */
        CONSTANT,
        /** Integers from -3 to 3: exact zeros in dense rows, ties, and sums with no rounding. */
        SMALL_INTEGERS,
        /** As {@code CENTRED}, but missing from 95% of the rows that take missing values (15% for the other kinds). */
        MOSTLY_MISSING
    }

    /** Everything a sequence is drawn from. */
    public record Spec(long seed, int rows, List<FeatureKind> features, PathMix paths, WeightMix weights) {
        public Spec {
            features = List.copyOf(features);
        }

        @Override
        public String toString() {
            return "RowSequence.Spec(seed=" + seed + "L, rows=" + rows + ", features=" + features + ", paths=" + paths
                    + ", weights=" + weights + ")";
        }
    }

    /** One row, kept both as its add call's arguments and as a dense view for the reference. */
    public static final class Row {
        private final Path path;
        private final double weight;
        /** Dense view: a left-out sparse entry is 0, a missing value is NaN or infinite. */
        private final double[] values;
        /** For the sparse paths: buffers longer than {@code stored}, with junk past it that must never be read. */
        private final int[] indices;
        private final double[] stored;
        private final int storedCount;

        private Row(Path path, double weight, double[] values, int[] indices, double[] stored, int storedCount) {
            this.path = path;
            this.weight = weight;
            this.values = values;
            this.indices = indices;
            this.stored = stored;
            this.storedCount = storedCount;
        }

        public void addTo(FeatureAccumulator accumulator) {
            switch (path) {
                case DENSE -> accumulator.add(values.clone(), weight);
                case DENSE_WITH_MISSING -> accumulator.addWithMissing(values.clone(), weight);
                case SPARSE -> accumulator.addSparse(values.length, indices.clone(), stored.clone(), storedCount, weight);
                case SPARSE_WITH_MISSING -> accumulator.addSparseWithMissing(values.length, indices.clone(), stored.clone(),
                        storedCount, weight);
                default -> throw new AssertionError(path);
            }
        }

        public Path path() {
            return path;
        }

        public double weight() {
            return weight;
        }

        /** A fresh copy of the dense view. */
        public double[] values() {
            return values.clone();
        }

        @Override
        public String toString() {
            return path + " w=" + weight + " " + Arrays.toString(values);
        }
    }

    private final Spec spec;
    private final List<Row> rows;

    private RowSequence(Spec spec, List<Row> rows) {
        this.spec = spec;
        this.rows = List.copyOf(rows);
    }

    /** Draws the sequence a spec describes: the same spec always gives the same rows. */
    public static RowSequence of(Spec spec) {
        SplittableRandom random = new SplittableRandom(spec.seed());
        int d = spec.features().size();
        double[] centre = new double[d];
        double[] spread = new double[d];
        for (int j = 0; j < d; j++) {
            double sign = random.nextBoolean() ? 1 : -1;
            switch (spec.features().get(j)) {
                case OFFSET -> {
                    centre[j] = sign * Math.pow(10, random.nextDouble(3, 8));
                    spread[j] = Math.abs(centre[j]) * Math.pow(10, random.nextDouble(-12, -1));
                }
                case CENTRED, MOSTLY_MISSING -> spread[j] = Math.pow(10, random.nextDouble(-8, 8));
                case CONSTANT -> centre[j] = sign * Math.pow(10, random.nextDouble(-8, 8));
                default -> {
                }
            }
        }
        double[] missingRate = new double[d];
        for (int j = 0; j < d; j++) {
            missingRate[j] = spec.features().get(j) == FeatureKind.MOSTLY_MISSING ? 0.95 : 0.15;
        }
        List<Row> rows = new ArrayList<>(spec.rows());
        for (int i = 0; i < spec.rows(); i++) {
            double[] values = new double[d];
            for (int j = 0; j < d; j++) {
                values[j] = switch (spec.features().get(j)) {
                    case OFFSET, CENTRED, MOSTLY_MISSING -> centre[j] + spread[j] * Data.gaussian(random);
                    case MIXED_MAGNITUDES -> (random.nextBoolean() ? 1 : -1) * Math.pow(10, random.nextDouble(-8, 8));
                    case CONSTANT -> centre[j];
                    case SMALL_INTEGERS -> random.nextInt(-3, 4);
                };
            }
            rows.add(row(path(spec.paths(), random), weight(spec.weights(), random), values, missingRate, random));
        }
        return new RowSequence(spec, rows);
    }

    private static Path path(PathMix mix, SplittableRandom random) {
        return switch (mix) {
            case DENSE_ONLY -> Path.DENSE;
            case MOSTLY_DENSE -> random.nextDouble() < 0.97 ? Path.DENSE : Path.values()[random.nextInt(1, 4)];
            case ANY -> Path.values()[random.nextInt(4)];
            case MISSING_ONLY -> random.nextBoolean() ? Path.DENSE_WITH_MISSING : Path.SPARSE_WITH_MISSING;
            case SPARSE_ONLY -> random.nextBoolean() ? Path.SPARSE : Path.SPARSE_WITH_MISSING;
        };
    }

    private static double weight(WeightMix mix, SplittableRandom random) {
        return switch (mix) {
            case ONES -> 1.0;
            case SMALL_INTEGERS -> random.nextInt(4);
            case FRACTIONAL -> random.nextDouble() < 0.1 ? 0.0 : Math.pow(10, random.nextDouble(-2, 1));
            case ANY -> weight(WeightMix.values()[random.nextInt(3)], random);
        };
    }

    private static final double[] NON_FINITE = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};

    private static Row row(Path path, double weight, double[] values, double[] missingRate, SplittableRandom random) {
        boolean missing = path == Path.DENSE_WITH_MISSING || path == Path.SPARSE_WITH_MISSING;
        boolean sparse = path == Path.SPARSE || path == Path.SPARSE_WITH_MISSING;
        int d = values.length;
        int[] indices = new int[d + 2];
        double[] stored = new double[d + 2];
        int count = 0;
        for (int j = 0; j < d; j++) {
            if (missing && random.nextDouble() < missingRate[j]) {
                values[j] = NON_FINITE[random.nextInt(3)];
            } else if (sparse && random.nextDouble() < 0.4) {
                values[j] = 0.0;
            }
            if (sparse && (values[j] != 0.0 || random.nextDouble() < 0.1)) {
                indices[count] = j;
                stored[count] = values[j];
                count++;
            }
        }
        // Junk past the row's end: the accumulators must read only the first `count` entries.
        for (int k = count; k < indices.length; k++) {
            indices[k] = random.nextInt(d);
            stored[k] = NON_FINITE[random.nextInt(3)];
        }
        return new Row(path, weight, values, indices, stored, count);
    }

    public Spec spec() {
        return spec;
    }

    public int size() {
        return rows.size();
    }

    public int dimension() {
        return spec.features().size();
    }

    public List<Row> rows() {
        return rows;
    }

    /** Rows {@code from} (inclusive) to {@code to} (exclusive) added, in order, to {@code accumulator}, which is returned. */
    public <A extends FeatureAccumulator> A addTo(A accumulator, int from, int to) {
        for (int i = from; i < to; i++) {
            rows.get(i).addTo(accumulator);
        }
        return accumulator;
    }

    /** The largest magnitude among the feature's values in rows of positive weight (missing values aside). */
    public double largestMagnitude(int feature) {
        return rows.stream().filter(row -> row.weight > 0).mapToDouble(row -> row.values[feature])
                .filter(Double::isFinite).map(Math::abs).max().orElse(0.0);
    }

    /** {@code 1 + max(w) / min(w)} over the positive weights: 2 for unweighted rows, 1 with none. */
    public double weightSpread() {
        double[] positive = rows.stream().mapToDouble(Row::weight).filter(w -> w > 0).toArray();
        return positive.length == 0 ? 1.0
                : 1.0 + Arrays.stream(positive).max().getAsDouble() / Arrays.stream(positive).min().getAsDouble();
    }

    /** The total weight of the rows. */
    public double totalWeight() {
        return rows.stream().mapToDouble(Row::weight).sum();
    }

    /** The sum of the squared weights of the rows. */
    public double totalWeightSquare() {
        return rows.stream().mapToDouble(row -> row.weight * row.weight).sum();
    }

    /** Whether some weight is not an integer, so that sums of weights round. */
    public boolean hasNonIntegerWeights() {
        return rows.stream().anyMatch(row -> row.weight != Math.rint(row.weight));
    }

    /**
     * Whether some row of positive weight leaves the feature's value out: missing, or a zero of a sparse row (stored or
     * not, the sparse paths skip it).
     */
    public boolean leavesValuesOut(int feature) {
        return rows.stream().filter(row -> row.weight > 0).anyMatch(row -> !Double.isFinite(row.values[feature])
                || (row.values[feature] == 0.0 && (row.path == Path.SPARSE || row.path == Path.SPARSE_WITH_MISSING)));
    }

    /**
     * Whether some row of positive weight leaves a zero of the feature out: a sparse row skips its zeros, stored or not,
     * so an accumulator must derive their weight from its other sums.
     */
    public boolean leavesZerosOut(int feature) {
        return rows.stream().filter(row -> row.weight > 0).anyMatch(row -> row.values[feature] == 0.0
                && (row.path == Path.SPARSE || row.path == Path.SPARSE_WITH_MISSING));
    }

    /** The dense views of all rows, for {@link ExactReference#withMissing}. */
    public double[][] denseValues() {
        return rows.stream().map(Row::values).toArray(double[][]::new);
    }

    public double[] weights() {
        return rows.stream().mapToDouble(Row::weight).toArray();
    }

    @Override
    public String toString() {
        return spec.toString();
    }
}
