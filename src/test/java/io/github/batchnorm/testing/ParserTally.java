package io.github.batchnorm.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many fuzzed documents a parser read and how many it refused with a message. Mutations that are all refused (or
 * all read) would test one branch only, so after a full run of the mutated cases both outcomes must have occurred.
 */
public final class ParserTally {
    private final String what;
    private final int mutatedCases;
    private final AtomicInteger read = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicInteger mutatedRead = new AtomicInteger();
    private final AtomicInteger mutatedRefused = new AtomicInteger();

    /**
     * @param what the documents, for the report ("import --json properties")
     * @param mutatedCases how many mutated cases a full run has
     */
    public ParserTally(String what, int mutatedCases) {
        this.what = what;
        this.mutatedCases = mutatedCases;
    }

    /** A generated document, which is always read. */
    public void generatedRead() {
        read.incrementAndGet();
    }

    public void mutatedRead() {
        read.incrementAndGet();
        mutatedRead.incrementAndGet();
    }

    public void mutatedRefused() {
        refused.incrementAndGet();
        mutatedRefused.incrementAndGet();
    }

    /** Prints the counts and, after a full run of the mutated cases, asserts that both outcomes occurred. */
    public void reportAndCheck() {
        System.out.println(what + ": " + (read.get() + refused.get()) + " documents, " + read.get() + " read, "
                + refused.get() + " refused with a message");
        if (mutatedRead.get() + mutatedRefused.get() == mutatedCases) {
            assertTrue(mutatedRead.get() > 0 && mutatedRefused.get() > 0, what + ", mutated: " + mutatedRead.get()
                    + " read, " + mutatedRefused.get() + " refused");
        }
    }
}
