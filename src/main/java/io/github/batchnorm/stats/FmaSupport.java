package io.github.batchnorm.stats;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/**
 * The exact rounding error of a square, with or without a hardware fused multiply-add. {@link Math#fma} is always
 * correct, but where the JVM does not use the CPU's FMA instruction it falls back to BigDecimal arithmetic, hundreds of
 * times slower; Dekker's exact product (Veltkamp's split) then does the same job in plain doubles.
 */
final class FmaSupport {
    /** Set to {@code true} or {@code false} to override the detection (for tests and measurements). */
    static final String PROPERTY = "batchnorm.hardwareFma";
    private static final double SPLITTER = 0x1p27 + 1.0;

    private FmaSupport() {
    }

    /**
     * Whether {@link Math#fma} is compiled to the FMA instruction: HotSpot's {@code UseFMA} flag, which the JVM sets from
     * the CPU's features at start-up (it is off on x86 CPUs without FMA3 and can be turned off with -XX:-UseFMA). Other
     * JVMs, where the flag cannot be read, get Dekker's product, which is correct everywhere.
     */
    static boolean detect() {
        String forced = System.getProperty(PROPERTY);
        if (forced != null) {
            return Boolean.parseBoolean(forced);
        }
        try {
            HotSpotDiagnosticMXBean hotSpot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            return hotSpot != null && Boolean.parseBoolean(hotSpot.getVMOption("UseFMA").getValue());
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /**
     * {@code x * x - p} exactly, for {@code p = x * x} rounded, by Dekker's product; valid for {@code |x|} in
     * [2^-400, 2^300], where no partial product overflows or underflows.
     */
    static double squareError(double x, double p) {
        double t = SPLITTER * x;
        double high = t - (t - x);
        double low = x - high;
        return ((high * high - p) + 2.0 * high * low) + low * low;
    }
}
