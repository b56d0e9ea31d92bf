package io.github.batchnorm.testing;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * Generated cases for JUnit parameterized tests: a test's case seeds come from a fixed seed of its own, and each case is
 * drawn from its case seed alone, so every run tries the same cases and a case's seed is enough to rebuild it.
 * {@code -Dcases.seed=<case seed>} runs every such test on that one case. Also the draws the parser tests share: numbers
 * in a range with its edges, and text with the characters that break hand-written JSON handling.
 */
public final class SeededCases {
    /** Set to one case seed, every test drawing its cases here runs on that case only. */
    public static final String REPLAY_PROPERTY = "cases.seed";

    private SeededCases() {
    }

    /** One generated case: the seed it was drawn from, and what was drawn; the seed leads its name, for replays. */
    public record Case<T>(long seed, T value) {
        @Override
        public String toString() {
            return "seed " + seed + "L: " + value;
        }
    }

    /**
     * {@code count} cases, their seeds drawn from {@code testSeed}, each drawn by {@code draw} from a random generator of
     * its own seed; or the one case {@code -Dcases.seed} names.
     */
    public static <T> Stream<Case<T>> cases(long testSeed, int count, Function<SplittableRandom, T> draw) {
        String replay = System.getProperty(REPLAY_PROPERTY);
        LongStream seeds = replay != null ? LongStream.of(Long.parseLong(replay.replaceFirst("[lL]$", "")))
                : new SplittableRandom(testSeed).longs(count);
        return seeds.mapToObj(seed -> new Case<>(seed, draw.apply(new SplittableRandom(seed))));
    }

    public static <T> T oneOf(List<T> values, SplittableRandom random) {
        return values.get(random.nextInt(values.size()));
    }

    /**
     * A double in {@code [low, high]}: one time in eight an edge (a bound, zero, the smallest normal and subnormal
     * magnitudes), otherwise uniform with two decimals (round numbers, as people write them), uniform at full precision,
     * or log-uniform in magnitude down to 1e-300 (digits that only a shortest round-trip form keeps).
     */
    public static double number(SplittableRandom random, double low, double high) {
        switch (random.nextInt(8)) {
            case 0 -> {
                List<Double> edges = new ArrayList<>(List.of(low, high));
                for (double edge : new double[] {0.0, Double.MIN_VALUE, Double.MIN_NORMAL, -Double.MIN_VALUE, 1.0, -1.0}) {
                    if (edge >= low && edge <= high) {
                        edges.add(edge);
                    }
                }
                return oneOf(edges, random);
            }
            case 1, 2, 3 -> {
                return Math.min(high, Math.max(low, Math.round(random.nextDouble(low, high) * 100) / 100.0));
            }
            case 4, 5 -> {
                return random.nextDouble(low, high);
            }
            default -> {
                double largest = Math.max(Math.abs(low), Math.abs(high));
                double magnitude = Math.pow(10, random.nextDouble(-300, Math.log10(largest)));
                double value = random.nextBoolean() ? magnitude : -magnitude;
                return value >= low && value <= high ? value : -value;
            }
        }
    }

    public static double[] numbers(SplittableRandom random, int n, double low, double high) {
        double[] values = new double[n];
        for (int j = 0; j < n; j++) {
            values[j] = number(random, low, high);
        }
        return values;
    }

    /** Quotes, backslashes, JSON's own punctuation, control characters, accents, CJK and a pair of surrogates. */
    private static final String[] ALPHABETS = {
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
        " \"\\/{}[]:,.-+e'`$%&*()#@!?<>=|~;",
        "\u0000\u0001\u0008\t\n\u000b\f\r\u001b\u001f\u007f\u0085\u2028\u2029",
        "\u00e9\u00df\u00f8\u00c5\u0391\u03a9\u0436\u05d0\u0627\u4e2d\u6587\u3042\uff21\ufeff\u200b",
    };

    /** Text of {@code minLength} to {@code maxLength} characters, mostly plain, now and then from the hard alphabets. */
    public static String text(SplittableRandom random, int minLength, int maxLength) {
        int length = random.nextInt(minLength, maxLength + 1);
        StringBuilder text = new StringBuilder(length);
        while (text.length() < length) {
            int pick = random.nextInt(8);
            if (pick == 7 && text.length() + 2 <= length) {
                text.appendCodePoint(random.nextInt(0x1F300, 0x1FA00));
            } else {
                String chars = ALPHABETS[pick < 4 ? 0 : Math.min(pick - 3, ALPHABETS.length - 1)];
                text.append(chars.charAt(random.nextInt(chars.length())));
            }
        }
        return text.toString();
    }

    /** {@code n} different texts, as column names must be. */
    public static List<String> distinctTexts(SplittableRandom random, int n, int minLength, int maxLength) {
        Set<String> texts = new LinkedHashSet<>();
        while (texts.size() < n) {
            texts.add(text(random, minLength, maxLength));
        }
        return List.copyOf(texts);
    }
}
