package io.github.batchnorm.jobs;

import static io.github.batchnorm.testing.SeededCases.cases;
import static io.github.batchnorm.testing.SeededCases.oneOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.testing.ParserTally;
import io.github.batchnorm.testing.SeededCases;
import io.github.batchnorm.testing.SeededCases.Case;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code import --json} documents, generated and then mutated (a field dropped, retyped or set to an odd value, the text
 * cut or garbled): each is read with exactly the document's values, or refused with one line that starts with the file
 * name, never with another exception.
 *
 * <p>These run as JUnit parameterized tests over seeded cases ({@link SeededCases}): a case is named by its seed, and
 * {@code -Dcases.seed=<seed>} replays it alone.
 */
class ImportJsonPropertiesTest {
    static final int GENERATED = 300;
    static final int MUTATED = 1500;
    private static final long SEED = 20261125L;

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory NODES = MAPPER.getNodeFactory();
    private static final String GARBLE = "\",]}{:-e\\";
    static final int STORED_GENERATED = 200;
    static final int STORED_MUTATED = 1000;
    private static final long STORED_SEED = 20261208L;
    private static final ParserTally TALLY = new ParserTally("import --json properties", MUTATED);
    private static final ParserTally STORED_TALLY = new ParserTally("import --json properties, stored features",
            STORED_MUTATED);

    @AfterAll
    static void report() {
        TALLY.reportAndCheck();
        STORED_TALLY.reportAndCheck();
    }

    private static ImportCommand command() {
        ImportCommand command = new ImportCommand();
        command.json = "stats.json";
        return command;
    }

    /** A document as the generated cases print it: compact, so that a case's name stays short. */
    record Document(ObjectNode json) {
        @Override
        public String toString() {
            return json.toString();
        }
    }

    /**
     * A valid document of 1 to 5 features: means in [-1e12, 1e12], variances in [0, 1e12], distinct names of 1 to 12
     * characters (as {@code inputCols}, or the first as {@code inputCol}), epsilon in [0, 1], either variance mode, and
     * {@code center} either way.
     */
    static ObjectNode document(SplittableRandom random) {
        int n = random.nextInt(1, 6);
        double[] mean = SeededCases.numbers(random, n, -1e12, 1e12);
        double[] variance = SeededCases.numbers(random, n, 0, 1e12);
        List<String> inputs = SeededCases.distinctTexts(random, n, 1, 12);
        double epsilon = SeededCases.number(random, 0, 1);
        String mode = oneOf(List.of("population", "sample"), random);
        boolean center = random.nextBoolean();
        boolean vector = random.nextBoolean();

        ObjectNode root = MAPPER.createObjectNode();
        if (vector) {
            root.put("inputCol", inputs.get(0));
        } else {
            ArrayNode columns = root.putArray("inputCols");
            inputs.forEach(columns::add);
        }
        ArrayNode meanNode = root.putArray("mean");
        ArrayNode varianceNode = root.putArray("variance");
        for (int j = 0; j < n; j++) {
            meanNode.add(mean[j]);
            varianceNode.add(variance[j]);
        }
        root.put("epsilon", epsilon);
        root.put("varianceMode", mode);
        root.put("center", center);
        return root;
    }

    static Stream<Case<Document>> generatedCases() {
        return cases(SEED, GENERATED, random -> new Document(document(random)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generatedCases")
    void generatedDocumentsAreReadWithTheirValues(Case<Document> generated) {
        ObjectNode document = generated.value().json();
        BatchNormalizationModel model = command().parse(document.toString());
        assertModelHolds(document, model, generated.toString());
        TALLY.generatedRead();
    }

    /**
     * A valid document that lists its stored features, as {@code describe --json} prints a model of a hashed column: a
     * dimension from 1 to {@code 2^31 - 1} (the widest vectors Spark allows half the time), 0 to 5 stored features in
     * it, their counts up to the row count, means in [-1e12, 1e12] and variances in [0, 1e12], gamma 1 and beta 0 for
     * each, and {@code otherFeatures} with the rule for the others.
     */
    static ObjectNode storedDocument(SplittableRandom random) {
        int numFeatures = random.nextBoolean() ? Integer.MAX_VALUE - 1 : random.nextInt(1, Integer.MAX_VALUE);
        int[] features = random.ints(random.nextInt(0, 6), 0, numFeatures).distinct().sorted().toArray();
        long rows = random.nextLong(1, 1_000_000);
        ObjectNode root = MAPPER.createObjectNode();
        root.put("inputCol", SeededCases.text(random, 1, 12));
        root.put("epsilon", SeededCases.number(random, 0, 1));
        root.put("varianceMode", oneOf(List.of("population", "sample"), random));
        root.put("center", random.nextBoolean());
        root.put("numFeatures", numFeatures);
        root.put("rowCount", rows);
        ArrayNode listed = root.putArray("features");
        ArrayNode count = root.putArray("count");
        ArrayNode mean = root.putArray("mean");
        ArrayNode variance = root.putArray("variance");
        ArrayNode gamma = root.putArray("gamma");
        ArrayNode beta = root.putArray("beta");
        for (int feature : features) {
            listed.add(feature);
            count.add(random.nextLong(0, rows + 1));
            mean.add(SeededCases.number(random, -1e12, 1e12));
            variance.add(SeededCases.number(random, 0, 1e12));
            gamma.add(1.0);
            beta.add(0.0);
        }
        ObjectNode others = root.putObject("otherFeatures");
        others.put("count", rows);
        others.put("mean", 0.0);
        others.put("variance", 0.0);
        others.put("gamma", 1.0);
        others.put("beta", 0.0);
        return root;
    }

    static Stream<Case<Document>> storedGeneratedCases() {
        return cases(STORED_SEED, STORED_GENERATED, random -> new Document(storedDocument(random)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("storedGeneratedCases")
    void generatedStoredFeatureDocumentsAreReadWithTheirValues(Case<Document> generated) {
        ObjectNode document = generated.value().json();
        BatchNormalizationModel model = command().parse(document.toString());
        assertFalse(model.statistics().storesEveryFeature(), generated.toString());
        assertModelHolds(document, model, generated.toString());
        STORED_TALLY.generatedRead();
    }

    /**
     * The model carries exactly the document's numbers and names. Each is checked to have its JSON type first: Jackson
     * reads any node as a double (text as 0), so an accepted {@code "1.5"} would otherwise pass as the value 0.
     */
    private static void assertModelHolds(JsonNode document, BatchNormalizationModel model, String at) {
        if (document.has("features")) {
            // The statistics store the listed features with their values; every other feature follows the rule.
            assertArrayEquals(doubles(document.get("mean"), at), model.statistics().storedMean(), at);
            double[] listed = doubles(document.get("features"), at);
            int[] stored = model.statistics().storedFeatures();
            assertEquals(listed.length, stored.length, at);
            for (int s = 0; s < stored.length; s++) {
                assertTrue(document.get("features").get(s).isIntegralNumber(), at);
                assertEquals(listed[s], stored[s], at);
            }
            assertTrue(document.get("numFeatures").isIntegralNumber(), at);
            assertEquals(document.get("numFeatures").intValue(), model.numFeatures(), at);
        } else {
            assertArrayEquals(doubles(document.get("mean"), at), model.statistics().mean(), at);
        }
        doubles(document.get("variance"), at);
        assertTrue(document.get("epsilon").isNumber(), at);
        assertEquals(document.get("epsilon").doubleValue(), model.getEpsilon(), at);
        if (document.has("inputCols")) {
            assertEquals(document.get("inputCols").size(), model.getInputCols().length, at);
            for (int j = 0; j < model.getInputCols().length; j++) {
                assertTrue(document.get("inputCols").get(j).isTextual(), at);
                assertEquals(document.get("inputCols").get(j).textValue(), model.getInputCols()[j], at);
            }
        } else {
            assertTrue(document.get("inputCol").isTextual(), at);
            assertEquals(document.get("inputCol").textValue(), model.getInputCol(), at);
        }
        if (document.has("center")) {
            assertTrue(document.get("center").isBoolean(), at);
            assertEquals(document.get("center").booleanValue(), model.getCenter(), at);
        }
    }

    private static double[] doubles(JsonNode array, String at) {
        assertTrue(array.isArray(), at);
        double[] values = new double[array.size()];
        for (int j = 0; j < values.length; j++) {
            assertTrue(array.get(j).isNumber(), at);
            values[j] = array.get(j).doubleValue();
        }
        return values;
    }

    /** Values of the wrong type, out of range, too large for a double, or right but in the wrong place. */
    private static final List<JsonNode> ODD_VALUES = List.of(MAPPER.nullNode(), NODES.textNode("1.5"),
            NODES.numberNode(-1), NODES.numberNode(0), NODES.numberNode(1e308), NODES.numberNode(new BigDecimal("1e400")),
            NODES.numberNode(new BigInteger("123456789012345678901234567890")), NODES.booleanNode(true),
            MAPPER.createArrayNode(), MAPPER.createObjectNode(), MAPPER.createArrayNode().add("a").add(1),
            MAPPER.createArrayNode().add(1.0).add(2.0).add(3.0), MAPPER.createArrayNode().add(-1.0), NODES.textNode(""),
            NODES.textNode("sample"));

    /** A document's text after one mutation, and what the mutation was. */
    record Mutant(String text, String mutation) {
        @Override
        public String toString() {
            return mutation;
        }
    }

    /**
     * A valid document, then one of seven mutations: a field dropped, set to an odd value, or added unknown; the text cut
     * short or a character of JSON's punctuation slipped in; an odd value appended to {@code mean}, or put in place of
     * one value of {@code mean} or {@code variance} (the arrays keep their length, so only the value check refuses it).
     */
    static Mutant mutant(SplittableRandom random) {
        return mutate(random, document(random), 7);
    }

    /**
     * {@code document} after one of the first {@code kinds} mutations: the seven of {@link #mutant}, then (for a
     * document that lists its stored features) an odd value in place of one listed feature, or of one field of
     * {@code otherFeatures}.
     */
    static Mutant mutate(SplittableRandom random, ObjectNode document, int kinds) {
        JsonNode odd = oneOf(ODD_VALUES, random);
        int mutation = random.nextInt(kinds);
        int which = random.nextInt(31);
        int at = random.nextInt(10_001);
        String field = ImportCommand.FIELDS.get(which % ImportCommand.FIELDS.size());
        switch (mutation) {
            case 0 -> {
                document.remove(field);
                return new Mutant(document.toString(), "without '" + field + "'");
            }
            case 1 -> {
                document.set(field, odd);
                return new Mutant(document.toString(), "'" + field + "' set to " + odd);
            }
            case 2 -> {
                document.set("unknown" + which, odd);
                return new Mutant(document.toString(), "unknown field 'unknown" + which + "' set to " + odd);
            }
            case 3 -> {
                String whole = document.toString();
                int end = at % (whole.length() + 1);
                return new Mutant(whole.substring(0, end), "cut after " + end + " of " + whole.length() + " characters");
            }
            case 4 -> {
                String whole = document.toString();
                int position = at % (whole.length() + 1);
                char garble = GARBLE.charAt(which % GARBLE.length());
                return new Mutant(whole.substring(0, position) + garble + whole.substring(position),
                        "'" + garble + "' inserted at " + position);
            }
            case 5 -> {
                ((ArrayNode) document.get("mean")).add(odd);
                return new Mutant(document.toString(), odd + " appended to 'mean'");
            }
            case 6 -> {
                return oddEntry(document, which % 2 == 0 ? "mean" : "variance", at, odd);
            }
            case 7 -> {
                return oddEntry(document, "features", at, odd);
            }
            default -> {
                String rule = ImportCommand.OTHER_FIELDS.get(which % ImportCommand.OTHER_FIELDS.size());
                ((ObjectNode) document.get("otherFeatures")).set(rule, odd);
                return new Mutant(document.toString(), "'otherFeatures." + rule + "' set to " + odd);
            }
        }
    }

    /** {@code odd} in place of one value of the array {@code field} (the arrays keep their length), or as its only one. */
    private static Mutant oddEntry(ObjectNode document, String field, int at, JsonNode odd) {
        ArrayNode values = (ArrayNode) document.get(field);
        if (values.isEmpty()) {
            values.add(odd);
            return new Mutant(document.toString(), odd + " as the only value of '" + field + "'");
        }
        int index = at % values.size();
        values.set(index, odd);
        return new Mutant(document.toString(), "'" + field + "'[" + index + "] set to " + odd);
    }

    static Stream<Case<Mutant>> mutatedCases() {
        return cases(SEED, MUTATED, ImportJsonPropertiesTest::mutant);
    }

    static Stream<Case<Mutant>> storedMutatedCases() {
        return cases(STORED_SEED, STORED_MUTATED, random -> mutate(random, storedDocument(random), 9));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("storedMutatedCases")
    void mutatedStoredFeatureDocumentsAreReadWithTheirValuesOrRefusedWithAMessage(Case<Mutant> generated) {
        readOrRefuse(generated, STORED_TALLY);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mutatedCases")
    void mutatedDocumentsAreReadWithTheirValuesOrRefusedWithAMessage(Case<Mutant> generated) {
        readOrRefuse(generated, TALLY);
    }

    private static void readOrRefuse(Case<Mutant> generated, ParserTally tally) {
        String text = generated.value().text();
        String at = generated + " in " + text;
        BatchNormalizationModel model;
        try {
            model = command().parse(text);
        } catch (UsageException refused) {
            assertTrue(refused.getMessage().startsWith("--json stats.json: "), at + ": " + refused.getMessage());
            assertEquals(1, refused.getMessage().lines().count(), at + ": " + refused.getMessage());
            tally.mutatedRefused();
            return;
        }
        try {
            assertModelHolds(MAPPER.readTree(text), model, at);
        } catch (JsonProcessingException e) {
            throw new AssertionError("accepted text that is not JSON: " + at, e);
        }
        tally.mutatedRead();
    }
}
