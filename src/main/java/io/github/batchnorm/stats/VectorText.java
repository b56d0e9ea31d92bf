package io.github.batchnorm.stats;

import java.util.function.IntFunction;

/** Small formatting helpers shared by the {@code toString} methods of this library. */
public final class VectorText {
    /** How many leading values {@link #abbreviate} prints. */
    public static final int SHOWN_VALUES = 5;

    private VectorText() {
    }

    /** {@code [v0, v1, ..., v4, ... (n values)]}: enough to recognise a vector without flooding a log line. */
    public static String abbreviate(double[] values) {
        return abbreviate(values.length, i -> Double.toString(values[i]));
    }

    /** {@link #abbreviate(double[])} for indices. */
    public static String abbreviate(int[] values) {
        return abbreviate(values.length, i -> Integer.toString(values[i]));
    }

    private static String abbreviate(int length, IntFunction<String> value) {
        StringBuilder text = new StringBuilder("[");
        int shown = Math.min(length, SHOWN_VALUES);
        for (int i = 0; i < shown; i++) {
            if (i > 0) {
                text.append(", ");
            }
            text.append(value.apply(i));
        }
        if (length > shown) {
            text.append(", ... (").append(length).append(" values)");
        }
        return text.append(']').toString();
    }
}
