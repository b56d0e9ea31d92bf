package io.github.batchnorm.jobs;

import static io.github.batchnorm.testing.SeededCases.cases;
import static io.github.batchnorm.testing.SeededCases.oneOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
    private static final ParserTally TALLY = new ParserTally("import --json properties", MUTATED);

    @AfterAll
    static void report() {
        TALLY.reportAndCheck();
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
     * The model carries exactly the document's numbers and names. Each is checked to have its JSON type first: Jackson
     * reads any node as a double (text as 0), so an accepted {@code "1.5"} would otherwise pass as the value 0.
     */
    private static void assertModelHolds(JsonNode document, BatchNormalizationModel model, String at) {
        assertArrayEquals(doubles(document.get("mean"), at), model.statistics().mean(), at);
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
        ObjectNode document = document(random);
        JsonNode odd = oneOf(ODD_VALUES, random);
        int mutation = random.nextInt(7);
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
            default -> {
                String array = which % 2 == 0 ? "mean" : "variance";
                ArrayNode values = (ArrayNode) document.get(array);
                int index = at % values.size();
                values.set(index, odd);
                return new Mutant(document.toString(), "'" + array + "'[" + index + "] set to " + odd);
            }
        }
    }

    static Stream<Case<Mutant>> mutatedCases() {
        return cases(SEED, MUTATED, ImportJsonPropertiesTest::mutant);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mutatedCases")
    void mutatedDocumentsAreReadWithTheirValuesOrRefusedWithAMessage(Case<Mutant> generated) {
        String text = generated.value().text();
        String at = generated + " in " + text;
        BatchNormalizationModel model;
        try {
            model = command().parse(text);
        } catch (UsageException refused) {
            assertTrue(refused.getMessage().startsWith("--json stats.json: "), at + ": " + refused.getMessage());
            assertEquals(1, refused.getMessage().lines().count(), at + ": " + refused.getMessage());
            TALLY.mutatedRefused();
            return;
        }
        try {
            assertModelHolds(MAPPER.readTree(text), model, at);
        } catch (JsonProcessingException e) {
            throw new AssertionError("accepted text that is not JSON: " + at, e);
        }
        TALLY.mutatedRead();
    }
}
