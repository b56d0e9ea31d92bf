package io.github.batchnorm.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.batchnorm.BatchNormalizationModel;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * {@code import --json} documents, generated and then mutated (a field dropped, retyped or set to an odd value, the text
 * cut or garbled): each is read with exactly the document's values, or refused with one line that starts with the file
 * name, never with another exception.
 */
class ImportJsonPropertiesTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String GARBLE = "\",]}{:-e\\";
    private static final AtomicInteger ACCEPTED = new AtomicInteger();
    private static final AtomicInteger REFUSED = new AtomicInteger();

    @AfterContainer
    static void report() {
        System.out.println("import --json properties: " + (ACCEPTED.get() + REFUSED.get()) + " documents, "
                + ACCEPTED.get() + " read, " + REFUSED.get() + " refused with a message");
    }

    private static ImportCommand command() {
        ImportCommand command = new ImportCommand();
        command.json = "stats.json";
        return command;
    }

    @Provide
    Arbitrary<ObjectNode> documents() {
        Arbitrary<Integer> sizes = Arbitraries.integers().between(1, 5);
        return sizes.flatMap(n -> {
            Arbitrary<double[]> means = Arbitraries.doubles().between(-1e12, 1e12).array(double[].class).ofSize(n);
            Arbitrary<double[]> variances = Arbitraries.doubles().between(0, 1e12).array(double[].class).ofSize(n);
            Arbitrary<List<String>> names = Arbitraries.strings().ofMinLength(1).ofMaxLength(12).list().ofSize(n)
                    .uniqueElements();
            Arbitrary<Double> epsilons = Arbitraries.doubles().between(0, 1);
            Arbitrary<String> modes = Arbitraries.of("population", "sample");
            Arbitrary<Boolean> flags = Arbitraries.of(true, false);
            return Combinators.combine(means, variances, names, epsilons, modes, flags, flags).as(
                    (mean, variance, inputs, epsilon, mode, center, vector) -> {
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
                    });
        });
    }

    @Property(tries = 300, seed = "20261125")
    void generatedDocumentsAreReadWithTheirValues(@ForAll("documents") ObjectNode document) {
        BatchNormalizationModel model = command().parse(document.toString());
        assertModelHolds(document, model);
        ACCEPTED.incrementAndGet();
    }

    /** The model carries exactly the document's numbers and names. */
    private static void assertModelHolds(JsonNode document, BatchNormalizationModel model) {
        assertArrayEquals(doubles(document.get("mean")), model.statistics().mean());
        assertEquals(document.get("epsilon").doubleValue(), model.getEpsilon());
        if (document.has("inputCols")) {
            assertEquals(document.get("inputCols").size(), model.getInputCols().length);
            for (int j = 0; j < model.getInputCols().length; j++) {
                assertEquals(document.get("inputCols").get(j).textValue(), model.getInputCols()[j]);
            }
        } else {
            assertEquals(document.get("inputCol").textValue(), model.getInputCol());
        }
        if (document.has("center")) {
            assertEquals(document.get("center").booleanValue(), model.getCenter());
        }
    }

    private static double[] doubles(JsonNode array) {
        double[] values = new double[array.size()];
        for (int j = 0; j < values.length; j++) {
            values[j] = array.get(j).doubleValue();
        }
        return values;
    }

    @Provide
    Arbitrary<JsonNode> oddValues() {
        return Arbitraries.of(MAPPER.nullNode(), MAPPER.getNodeFactory().textNode("1.5"),
                MAPPER.getNodeFactory().numberNode(-1), MAPPER.getNodeFactory().numberNode(0),
                MAPPER.getNodeFactory().numberNode(1e308), MAPPER.getNodeFactory().numberNode(new java.math.BigDecimal("1e400")),
                MAPPER.getNodeFactory().numberNode(new java.math.BigInteger("123456789012345678901234567890")),
                MAPPER.getNodeFactory().booleanNode(true), MAPPER.createArrayNode(), MAPPER.createObjectNode(),
                MAPPER.createArrayNode().add("a").add(1), MAPPER.createArrayNode().add(1.0).add(2.0).add(3.0),
                MAPPER.createArrayNode().add(-1.0), MAPPER.getNodeFactory().textNode(""),
                MAPPER.getNodeFactory().textNode("sample"));
    }

    @Property(tries = 1500, seed = "20261125")
    void mutatedDocumentsAreReadWithTheirValuesOrRefusedWithAMessage(@ForAll("documents") ObjectNode document,
            @ForAll("oddValues") JsonNode odd,
            @ForAll @IntRange(min = 0, max = 5) int mutation, @ForAll @IntRange(min = 0, max = 30) int which,
            @ForAll @IntRange(min = 0, max = 10_000) int at) {
        List<String> fields = ImportCommand.FIELDS;
        String field = fields.get(which % fields.size());
        String text;
        switch (mutation) {
            case 0 -> {
                document.remove(field);
                text = document.toString();
            }
            case 1 -> {
                document.set(field, odd);
                text = document.toString();
            }
            case 2 -> {
                document.set("unknown" + which, odd);
                text = document.toString();
            }
            case 3 -> {
                String whole = document.toString();
                text = whole.substring(0, at % (whole.length() + 1));
            }
            case 4 -> {
                String whole = document.toString();
                int position = at % (whole.length() + 1);
                text = whole.substring(0, position) + GARBLE.charAt(which % GARBLE.length()) + whole.substring(position);
            }
            default -> {
                JsonNode mean = document.get("mean");
                if (mean instanceof ArrayNode array) {
                    array.add(odd);
                }
                text = document.toString();
            }
        }
        BatchNormalizationModel model;
        try {
            model = command().parse(text);
        } catch (UsageException refused) {
            assertTrue(refused.getMessage().startsWith("--json stats.json: "), refused.getMessage());
            assertTrue(refused.getMessage().lines().count() == 1, refused.getMessage());
            REFUSED.incrementAndGet();
            return;
        }
        try {
            assertModelHolds(MAPPER.readTree(text), model);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError("accepted text that is not JSON: " + text, e);
        }
        ACCEPTED.incrementAndGet();
    }
}
