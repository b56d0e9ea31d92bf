package io.github.batchnorm.testing;

import static org.junit.jupiter.api.Assertions.fail;

/** Relative-error assertions with tolerances that mean something. */
public final class Tolerance {
    private Tolerance() {
    }

    /**
     * Passes when {@code |actual - expected| <= relative * max(|expected|, floor)}. The floor keeps values that are
     * (near) zero, such as a normalised value at the mean, from demanding an impossible relative error.
     */
    public static void assertClose(double expected, double actual, double relative, double floor, String what) {
        double allowed = relative * Math.max(Math.abs(expected), floor);
        if (!(Math.abs(actual - expected) <= allowed)) {
            fail(what + ": expected " + expected + " but was " + actual + " (difference " + Math.abs(actual - expected)
                    + ", allowed " + allowed + ")");
        }
    }

    /** Relative error with no floor. */
    public static void assertRelative(double expected, double actual, double relative, String what) {
        assertClose(expected, actual, relative, 0.0, what);
    }
}
