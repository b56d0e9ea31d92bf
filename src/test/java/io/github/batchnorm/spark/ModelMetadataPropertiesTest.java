package io.github.batchnorm.spark;

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
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Saved model metadata, generated in the layout Spark's params writer uses and then mutated: each document is read with
 * exactly its params, or refused with one line that names the model's folder, never with another exception.
 *
 * <p>These run as JUnit parameterized tests over seeded cases ({@link SeededCases}): a case is named by its seed, and
 * {@code -Dcases.seed=<seed>} replays it alone.
 */
class ModelMetadataPropertiesTest {
    static final int GENERATED = 300;
    static final int MUTATED = 1500;
    private static final long SEED = 20261125L;

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory NODES = MAPPER.getNodeFactory();
    private static final String GARBLE = "\",]}{:-e\\";
    private static final String CLASS = BatchNormalizationModel.class.getName();
    private static final String PATH = "/models/people";
    private static final ParserTally TALLY = new ParserTally("model metadata properties", MUTATED);

    @AfterAll
    static void report() {
        TALLY.reportAndCheck();
    }

    private static BatchNormalizationModel blankModel() {
        return BatchNormalizationModel.fromStatistics(new double[] {0, 0}, new double[] {1, 1}, new double[0],
                new double[0], 1e-5);
    }

    /** A document as the generated cases print it: compact, so that a case's name stays short. */
    record Document(ObjectNode json) {
        @Override
        public String toString() {
            return json.toString();
        }
    }

    /**
     * Valid metadata of a two-feature model: epsilon in [0, 10], two distinct column names of 1 to 10 characters, gamma
     * in [-5, 5], any variance mode and handleInvalid, center either way, format version 1 or 2.
     */
    static ObjectNode document(SplittableRandom random) {
        double epsilon = SeededCases.number(random, 0, 10);
        List<String> inputs = SeededCases.distinctTexts(random, 2, 1, 10);
        double[] gamma = SeededCases.numbers(random, 2, -5, 5);
        String mode = oneOf(List.of("population", "sample"), random);
        String handleInvalid = oneOf(List.of("error", "skip", "keep"), random);
        boolean center = random.nextBoolean();
        int version = random.nextInt(1, 3);

        ObjectNode root = MAPPER.createObjectNode();
        root.put("class", CLASS);
        root.put("timestamp", 1_764_000_000_000L);
        root.put("sparkVersion", "4.2.0");
        root.put("uid", "batchNorm_0123abcd");
        ObjectNode params = root.putObject("paramMap");
        params.put("epsilon", epsilon);
        ArrayNode inputCols = params.putArray("inputCols");
        inputs.forEach(inputCols::add);
        ArrayNode outputCols = params.putArray("outputCols");
        inputs.forEach(name -> outputCols.add(name + "_bn"));
        ArrayNode gammaNode = params.putArray("gamma");
        for (double g : gamma) {
            gammaNode.add(g);
        }
        params.put("varianceMode", mode);
        params.put("handleInvalid", handleInvalid);
        params.put("center", center);
        ObjectNode defaults = root.putObject("defaultParamMap");
        defaults.put("epsilon", 1e-5);
        defaults.put("aggregationDepth", 2);
        root.put("formatVersion", version);
        return root;
    }

    static Stream<Case<Document>> generatedCases() {
        return cases(SEED, GENERATED, random -> new Document(document(random)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generatedCases")
    void generatedMetadataIsReadWithItsParams(Case<Document> generated) {
        ObjectNode document = generated.value().json();
        BatchNormalizationModel model = read(document.toString());
        assertHolds(document.get("paramMap"), model, generated.toString());
        TALLY.generatedRead();
    }

    private static BatchNormalizationModel read(String json) {
        ModelStore.SavedMetadata metadata = ModelStore.parseMetadata(json, PATH, CLASS);
        BatchNormalizationModel model = blankModel();
        ModelStore.applyParams(metadata, model, PATH);
        return model;
    }

    /**
     * Every param in the document has exactly its value in the model. Doubles and strings are checked to have their JSON
     * type first, as Jackson reads any node as a double (text as 0). Column names and booleans are expected as Spark's
     * json4s decoding reads them, which the reader accepts today: a number in a name array as its text, {@code null} as
     * false.
     */
    private static void assertHolds(JsonNode params, BatchNormalizationModel model, String at) {
        for (var fields = params.fields(); fields.hasNext();) {
            var field = fields.next();
            JsonNode value = field.getValue();
            switch (field.getKey()) {
                case "epsilon" -> assertEquals(sparkDouble(value, at), model.getEpsilon(), at);
                case "inputCols" -> assertArrayEquals(texts(value, at), model.getInputCols(), at);
                case "outputCols" -> {
                    if (!value.isNull()) {
                        assertArrayEquals(texts(value, at), model.getOutputCols(), at);
                    }
                }
                case "gamma" -> {
                    assertTrue(value.isArray(), at);
                    double[] expected = new double[value.size()];
                    for (int j = 0; j < expected.length; j++) {
                        expected[j] = sparkDouble(value.get(j), at);
                    }
                    assertArrayEquals(expected, model.getGamma(), at);
                }
                case "varianceMode" -> assertEquals(text(value, at), model.getVarianceMode(), at);
                case "handleInvalid" -> assertEquals(text(value, at), model.getHandleInvalid(), at);
                case "center" -> {
                    assertTrue(value.isBoolean() || value.isNull(), at);
                    assertEquals(value.booleanValue(), model.getCenter(), at);
                }
                default -> {
                }
            }
        }
    }

    /** A double as Spark's params writer writes it: a JSON number, or "NaN", "Inf" or "-Inf" for the non-finite. */
    private static double sparkDouble(JsonNode value, String at) {
        if (value.isNumber()) {
            return value.doubleValue();
        }
        assertTrue(value.isTextual(), at);
        return switch (value.textValue()) {
            case "NaN" -> Double.NaN;
            case "Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> throw new AssertionError("accepted " + value + " as a double: " + at);
        };
    }

    private static String text(JsonNode value, String at) {
        assertTrue(value.isTextual(), at);
        return value.textValue();
    }

    private static String[] texts(JsonNode array, String at) {
        assertTrue(array.isArray(), at);
        String[] values = new String[array.size()];
        for (int j = 0; j < values.length; j++) {
            assertTrue(array.get(j).isValueNode() && !array.get(j).isNull(), at);
            values[j] = array.get(j).asText();
        }
        return values;
    }

    /** Values of the wrong type, out of range, too large for a double, or right but in the wrong place. */
    private static final List<JsonNode> ODD_VALUES = List.of(MAPPER.nullNode(), NODES.textNode("1.5"),
            NODES.textNode("NaN"), NODES.numberNode(-1), NODES.numberNode(0), NODES.numberNode(3), NODES.numberNode(1e308),
            NODES.numberNode(new BigDecimal("1e400")), NODES.booleanNode(false), MAPPER.createArrayNode(),
            MAPPER.createObjectNode(), MAPPER.createArrayNode().add("a").add(1), MAPPER.createArrayNode().add(2.5),
            NODES.textNode(""), NODES.textNode("keep"), NODES.textNode(CLASS),
            NODES.textNode("org.apache.spark.ml.PipelineModel"));

    private static final List<String> TOP = List.of("class", "timestamp", "sparkVersion", "uid", "paramMap",
            "defaultParamMap", "formatVersion");
    private static final List<String> PARAMS = List.of("epsilon", "inputCols", "outputCols", "gamma", "varianceMode",
            "handleInvalid", "center", "inputCol", "momentum", "aggregationDepth", "summation", "weightCol", "beta",
            "scale", "noSuchParam");

    /** A document's text after one mutation, and what the mutation was. */
    record Mutant(String text, String mutation) {
        @Override
        public String toString() {
            return mutation;
        }
    }

    /**
     * Valid metadata, then one of five mutations: a top-level field dropped or set to an odd value, a param (known or
     * not) set to an odd value, the text cut short, or a character of JSON's punctuation slipped in.
     */
    static Mutant mutant(SplittableRandom random) {
        ObjectNode document = document(random);
        JsonNode odd = oneOf(ODD_VALUES, random);
        int mutation = random.nextInt(5);
        int which = random.nextInt(101);
        int at = random.nextInt(10_001);
        ObjectNode params = (ObjectNode) document.get("paramMap");
        switch (mutation) {
            case 0 -> {
                String field = TOP.get(which % TOP.size());
                document.remove(field);
                return new Mutant(document.toString(), "without '" + field + "'");
            }
            case 1 -> {
                String field = TOP.get(which % TOP.size());
                document.set(field, odd);
                return new Mutant(document.toString(), "'" + field + "' set to " + odd);
            }
            case 2 -> {
                String param = PARAMS.get(which % PARAMS.size());
                params.set(param, odd);
                return new Mutant(document.toString(), "param '" + param + "' set to " + odd);
            }
            case 3 -> {
                String whole = document.toString();
                int end = at % (whole.length() + 1);
                return new Mutant(whole.substring(0, end), "cut after " + end + " of " + whole.length() + " characters");
            }
            default -> {
                String whole = document.toString();
                int position = at % (whole.length() + 1);
                char garble = GARBLE.charAt(which % GARBLE.length());
                return new Mutant(whole.substring(0, position) + garble + whole.substring(position),
                        "'" + garble + "' inserted at " + position);
            }
        }
    }

    static Stream<Case<Mutant>> mutatedCases() {
        return cases(SEED, MUTATED, ModelMetadataPropertiesTest::mutant);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mutatedCases")
    void mutatedMetadataIsReadWithItsParamsOrRefusedWithAMessage(Case<Mutant> generated) {
        String text = generated.value().text();
        String at = generated + " in " + text;
        BatchNormalizationModel model;
        try {
            model = read(text);
        } catch (IllegalArgumentException refused) {
            assertTrue(refused.getMessage().contains("'" + PATH + "'"), at + ": " + refused.getMessage());
            assertEquals(1, refused.getMessage().lines().count(), at + ": " + refused.getMessage());
            TALLY.mutatedRefused();
            return;
        }
        try {
            assertHolds(MAPPER.readTree(text).get("paramMap"), model, at);
        } catch (JsonProcessingException e) {
            throw new AssertionError("accepted text that is not JSON: " + at, e);
        }
        TALLY.mutatedRead();
    }
}
