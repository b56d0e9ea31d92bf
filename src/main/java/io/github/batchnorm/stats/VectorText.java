package io.github.batchnorm.stats;

/** Small formatting helpers shared by the {@code toString} methods of this library. */
public final class VectorText {
    /** How many leading values {@link #abbreviate} prints. */
    public static final int SHOWN_VALUES = 5;

    private VectorText() {
    }

    /** {@code [v0, v1, ..., v4, ... (n values)]}: enough to recognise a vector without flooding a log line. */
    public static String abbreviate(double[] values) {
        StringBuilder text = new StringBuilder("[");
        int shown = Math.min(values.length, SHOWN_VALUES);
        for (int i = 0; i < shown; i++) {
            if (i > 0) {
                text.append(", ");
            }
            text.append(values[i]);
        }
        if (values.length > shown) {
            text.append(", ... (").append(values.length).append(" values)");
        }
        return text.append(']').toString();
    }

    /** {@link #abbreviate(double[])} for indices. */
    public static String abbreviate(int[] values) {
        StringBuilder text = new StringBuilder("[");
        int shown = Math.min(values.length, SHOWN_VALUES);
        for (int i = 0; i < shown; i++) {
            if (i > 0) {
                text.append(", ");
            }
            text.append(values[i]);
        }
        if (values.length > shown) {
            text.append(", ... (").append(values.length).append(" values)");
        }
        return text.append(']').toString();
    }
}
