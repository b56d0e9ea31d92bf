package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("ExactSums: many exact sums in one arena")
class ExactSumsTest {
    private static final int SLOTS = 300;

    private static BigDecimal exact(ExactValue value) {
        BigDecimal mantissa = new BigDecimal(value.mantissa());
        int exponent = value.exponent();
        return exponent >= 0 ? mantissa.multiply(new BigDecimal(BigInteger.TWO.pow(exponent)))
                : mantissa.divide(new BigDecimal(BigInteger.TWO.pow(-exponent)));
    }

    /** A value of slot {@code s}: each slot has its own scale, some reach far up or down so windows grow and move. */
    private static double valueOf(SplittableRandom random, int s) {
        double scale = Math.pow(2, (s % 41) * 7 - 140);
        double x = (random.nextBoolean() ? 1 : -1) * scale * random.nextDouble();
        return random.nextInt(20) == 0 ? x * Math.pow(2, random.nextInt(-300, 300)) : x;
    }

    /**
     * Fills {@code sums} with values, squares and weighted squares, slot by slot in random order, and returns the
     * BigDecimal reference of each slot.
     */
    private static BigDecimal[] fill(ExactSums sums, long seed, int terms) {
        SplittableRandom random = new SplittableRandom(seed);
        BigDecimal[] reference = new BigDecimal[SLOTS];
        java.util.Arrays.fill(reference, BigDecimal.ZERO);
        for (int i = 0; i < terms; i++) {
            int s = random.nextInt(SLOTS);
            if (s % 10 == 9) {
                continue; // some slots never get a term
            }
            double x = valueOf(random, s);
            BigDecimal bx = new BigDecimal(x);
            switch (random.nextInt(3)) {
                case 0:
                    sums.slot(s).add(x);
                    reference[s] = reference[s].add(bx);
                    break;
                case 1:
                    sums.slot(s).addSquare(x);
                    reference[s] = reference[s].add(bx.multiply(bx));
                    break;
                default:
                    double w = random.nextDouble(0.5, 3);
                    sums.slot(s).addWeightedSquare(w, x);
                    reference[s] = reference[s].add(new BigDecimal(w).multiply(bx).multiply(bx));
                    break;
            }
        }
        return reference;
    }

    private static void assertHolds(BigDecimal[] reference, ExactSums sums, String what) {
        for (int s = 0; s < SLOTS; s++) {
            assertEquals(0, reference[s].compareTo(exact(sums.value(s))), what + ", slot " + s);
            assertEquals(reference[s].signum() != 0 || s % 10 != 9, sums.has(s) || reference[s].signum() != 0,
                    what + ", slot " + s + " holds a sum only if it had a term");
        }
    }

    @Test
    void everySlotSumsExactlyWhileWindowsGrowMoveAndTheArenaIsCompacted() {
        ExactSums sums = new ExactSums(SLOTS);
        BigDecimal[] reference = fill(sums, 1, 40_000);
        assertHolds(reference, sums, "after the adds");
        for (int s = 9; s < SLOTS; s += 10) {
            assertFalse(sums.has(s), "slot " + s + " never had a term");
        }
    }

    @Test
    void carriesAfterEveryThirdAddChangeNoSlotsValue() {
        ExactSums frequentCarries = new ExactSums(SLOTS, 3);
        BigDecimal[] reference = fill(frequentCarries, 2, 20_000);
        assertHolds(reference, frequentCarries, "carries every third add");
    }

    @Test
    void mergingAddsSlotToSlotAndLeavesTheArgumentAsItWas() {
        for (int addsBeforeCarry : new int[] {3, ExactSum.ADDS_BEFORE_CARRY}) {
            ExactSums left = new ExactSums(SLOTS, addsBeforeCarry);
            ExactSums right = new ExactSums(SLOTS, addsBeforeCarry);
            BigDecimal[] leftReference = fill(left, 3, 10_000);
            BigDecimal[] rightReference = fill(right, 4, 10_000);
            ExactSums merged = new ExactSums(SLOTS, addsBeforeCarry);
            for (int s = 0; s < SLOTS; s++) {
                // Into another slot too, so merging reaches slots that hold a sum and slots that hold none.
                merged.merge(s, left, s);
                merged.merge((s + 7) % SLOTS, right, s);
            }
            BigDecimal[] expected = new BigDecimal[SLOTS];
            for (int s = 0; s < SLOTS; s++) {
                expected[(s + 7) % SLOTS] = rightReference[s];
            }
            for (int s = 0; s < SLOTS; s++) {
                expected[s] = expected[s].add(leftReference[s]);
            }
            assertHolds(expected, merged, "merged, carries every " + addsBeforeCarry + " adds");
            assertHolds(rightReference, right, "the argument after the merge");
        }
    }

    @Test
    void aSlotWrittenCompactReadsBackExactlyAndFinalisesLikeAnExactSum() throws IOException {
        ExactSums sums = new ExactSums(SLOTS, 3);
        BigDecimal[] reference = fill(sums, 5, 20_000);
        ExactSum scratch = new ExactSum();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            for (int s = 0; s < SLOTS; s++) {
                sums.copyTo(s, scratch);
                scratch.writeCompact(out);
            }
        }
        ExactSums read = new ExactSums(SLOTS);
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            for (int s = 0; s < SLOTS; s++) {
                // Slot s read into slot SLOTS - 1 - s: where a window lies in the arena does not matter.
                read.readCompact(SLOTS - 1 - s, in);
            }
        }
        double[] fromSlot = new double[2];
        double[] fromSum = new double[2];
        for (int s = 0; s < SLOTS; s++) {
            int readSlot = SLOTS - 1 - s;
            assertEquals(0, reference[s].compareTo(exact(read.value(readSlot))), "slot " + s + " read back");
            ExactSum single = new ExactSum();
            read.copyTo(readSlot, single);
            boolean slotRounds = read.toDoubleDouble(readSlot, fromSlot);
            assertEquals(single.toDoubleDouble(fromSum), slotRounds, "slot " + s);
            if (slotRounds) {
                assertEquals(fromSum[0], fromSlot[0], "slot " + s + ", high part");
                assertEquals(fromSum[1], fromSlot[1], "slot " + s + ", low part");
                // The double-double pair is within 2^-100 of the exact sum.
                BigDecimal error = new BigDecimal(fromSlot[0]).add(new BigDecimal(fromSlot[1])).subtract(reference[s]);
                assertTrue(error.abs().compareTo(reference[s].abs().multiply(new BigDecimal(0x1p-100))) <= 0,
                        "slot " + s + ": " + error);
            }
        }
    }
}
