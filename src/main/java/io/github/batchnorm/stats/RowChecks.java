package io.github.batchnorm.stats;

/** The row checks both accumulators make, in one place so they fail with the same messages. */
final class RowChecks {
    private RowChecks() {
    }

    static void requireValidWeight(double weight) {
        if (!(weight >= 0.0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("row weight must be finite and >= 0 but was " + weight);
        }
    }

    /**
     * Whether an accumulator of dimension {@code current} (-1: none yet) must now take on {@code size}.
     *
     * @throws DimensionMismatchException if it already has another dimension
     */
    static boolean adoptsDimension(int current, int size) {
        if (current == size) {
            return false;
        }
        if (current >= 0) {
            throw new DimensionMismatchException(current, size);
        }
        if (size < 0) {
            throw new IllegalArgumentException("a row cannot have a negative number of features: " + size);
        }
        return true;
    }
}
