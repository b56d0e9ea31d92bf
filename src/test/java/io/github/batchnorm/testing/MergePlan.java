package io.github.batchnorm.testing;

import io.github.batchnorm.stats.FeatureAccumulator;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * A way to cut a sequence of rows into consecutive pieces and merge their accumulators back together: the pieces, in a
 * shuffled order, are the leaves of a random binary tree whose every node is one {@code left.merge(right)}. This is what
 * Spark does with partitions and {@code treeAggregate}, in every shape it could take.
 */
public final class MergePlan {
    /** Piece {@code i} is rows {@code bounds[i]} (inclusive) to {@code bounds[i + 1]} (exclusive). */
    private final int[] bounds;
    private final Tree tree;

    private MergePlan(int[] bounds, Tree tree) {
        this.bounds = bounds;
        this.tree = tree;
    }

    /**
     * Cuts {@code rows} rows into pieces of the given lengths, in order, each clamped to the rows that are left; the last
     * piece takes the rest, so there is one more piece than lengths (empty pieces included). The tree, and the order of
     * its leaves, are drawn from {@code shapeSeed}.
     */
    public static MergePlan of(int rows, List<Integer> pieceLengths, long shapeSeed) {
        int[] bounds = new int[pieceLengths.size() + 2];
        for (int i = 0; i < pieceLengths.size(); i++) {
            bounds[i + 1] = Math.min(rows, bounds[i] + pieceLengths.get(i));
        }
        bounds[bounds.length - 1] = rows;
        List<Integer> leaves = new ArrayList<>();
        for (int i = 0; i < bounds.length - 1; i++) {
            leaves.add(i);
        }
        Random random = new Random(shapeSeed);
        Collections.shuffle(leaves, random);
        return new MergePlan(bounds, Tree.random(leaves, random));
    }

    /** One pass: a single piece holding every row. */
    public static MergePlan onePass(int rows) {
        return new MergePlan(new int[] {0, rows}, new Tree(0, null, null));
    }

    public int pieces() {
        return bounds.length - 1;
    }

    /** The first row of a piece. */
    public int start(int piece) {
        return bounds[piece];
    }

    /** The row after a piece's last. */
    public int end(int piece) {
        return bounds[piece + 1];
    }

    public int pieceLength(int piece) {
        return bounds[piece + 1] - bounds[piece];
    }

    /** Each piece summarised by a fresh accumulator, then all merged as the tree says. */
    @SuppressWarnings("unchecked")
    public <A extends FeatureAccumulator> A apply(RowSequence rows, Supplier<A> empty) {
        return (A) tree.evaluate(piece -> rows.addTo(empty.get(), bounds[piece], bounds[piece + 1]));
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("MergePlan(pieces");
        for (int i = 0; i < pieces(); i++) {
            text.append(' ').append(i).append("=[").append(bounds[i]).append(',').append(bounds[i + 1]).append(')');
        }
        return text.append(", tree ").append(tree).append(')').toString();
    }

    private record Tree(int leaf, Tree left, Tree right) {
        static Tree random(List<Integer> leaves, Random random) {
            if (leaves.size() == 1) {
                return new Tree(leaves.get(0), null, null);
            }
            int split = 1 + random.nextInt(leaves.size() - 1);
            return new Tree(-1, random(leaves.subList(0, split), random), random(leaves.subList(split, leaves.size()),
                    random));
        }

        FeatureAccumulator evaluate(java.util.function.IntFunction<FeatureAccumulator> piece) {
            if (left == null) {
                return piece.apply(leaf);
            }
            return left.evaluate(piece).merge(right.evaluate(piece));
        }

        @Override
        public String toString() {
            return left == null ? Integer.toString(leaf) : "(" + left + " " + right + ")";
        }
    }
}
