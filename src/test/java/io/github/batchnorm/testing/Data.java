package io.github.batchnorm.testing;

import java.util.SplittableRandom;

/** Seeded generators of feature rows: every test's data is reproducible from its seed. */
public final class Data {
    private Data() {
    }

    /**
     * Dense rows whose feature j has its own offset and spread, so that features differ in scale as real ones do:
     * offsets in [-10, 10], spreads from 0.1 to 100.
     */
    public static double[][] dense(long seed, int rows, int features) {
        SplittableRandom random = new SplittableRandom(seed);
        double[] offset = new double[features];
        double[] spread = new double[features];
        for (int j = 0; j < features; j++) {
            offset[j] = random.nextDouble(-10, 10);
            spread[j] = Math.pow(10, random.nextDouble(-1, 2));
        }
        double[][] data = new double[rows][features];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < features; j++) {
                data[i][j] = offset[j] + spread[j] * gaussian(random);
            }
        }
        return data;
    }

    /** Dense rows in which each value is non-zero with probability {@code density}; the zeros are real zeros. */
    public static double[][] sparse(long seed, int rows, int features, double density) {
        SplittableRandom random = new SplittableRandom(seed);
        double[][] data = new double[rows][features];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < features; j++) {
                if (random.nextDouble() < density) {
                    data[i][j] = (j + 1) * (1 + gaussian(random));
                }
            }
        }
        return data;
    }

    /** A standard normal variate (Box-Muller), from the given generator only. */
    public static double gaussian(SplittableRandom random) {
        double u = 1.0 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }
}
