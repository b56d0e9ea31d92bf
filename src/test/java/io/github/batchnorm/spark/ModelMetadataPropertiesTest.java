package io.github.batchnorm.spark;

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
 * Saved model metadata, generated in the layout Spark's params writer uses and then mutated: each document is read with
 * exactly its params, or refused with one line that names the model's folder, never with another exception.
 */
class ModelMetadataPropertiesTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String GARBLE = "\",]}{:-e\\";
    private static final String CLASS = BatchNormalizationModel.class.getName();
    private static final String PATH = "/models/people";
    private static final AtomicInteger ACCEPTED = new AtomicInteger();
    private static final AtomicInteger REFUSED = new AtomicInteger();

    @AfterContainer
    static void report() {
        System.out.println("model metadata properties: " + (ACCEPTED.get() + REFUSED.get()) + " documents, "
                + ACCEPTED.get() + " read, " + REFUSED.get() + " refused with a message");
    }

    private static BatchNormalizationModel blankModel() {
        return BatchNormalizationModel.fromStatistics(new double[] {0, 0}, new double[] {1, 1}, new double[0],
                new double[0], 1e-5);
    }

    @Provide
    Arbitrary<ObjectNode> documents() {
        Arbitrary<Double> epsilons = Arbitraries.doubles().between(0, 10);
        Arbitrary<List<String>> names = Arbitraries.strings().ofMinLength(1).ofMaxLength(10).list().ofSize(2)
                .uniqueElements();
        Arbitrary<double[]> gammas = Arbitraries.doubles().between(-5, 5).array(double[].class).ofSize(2);
        Arbitrary<String> modes = Arbitraries.of("population", "sample");
        Arbitrary<String> invalid = Arbitraries.of("error", "skip", "keep");
        Arbitrary<Boolean> flags = Arbitraries.of(true, false);
        Arbitrary<Integer> versions = Arbitraries.of(1, 2);
        return Combinators.combine(epsilons, names, gammas, modes, invalid, flags, versions).as(
                (epsilon, inputs, gamma, mode, handleInvalid, center, version) -> {
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
                });
    }

    @Property(tries = 300, seed = "20261125")
    void generatedMetadataIsReadWithItsParams(@ForAll("documents") ObjectNode document) {
        BatchNormalizationModel model = read(document.toString());
        assertHolds(document.get("paramMap"), model);
        ACCEPTED.incrementAndGet();
    }

    private static BatchNormalizationModel read(String json) {
        ModelStore.SavedMetadata metadata = ModelStore.parseMetadata(json, PATH, CLASS);
        BatchNormalizationModel model = blankModel();
        ModelStore.applyParams(metadata, model, PATH);
        return model;
    }

    /** Every param in the document has exactly its value in the model. */
    private static void assertHolds(JsonNode params, BatchNormalizationModel model) {
        for (var fields = params.fields(); fields.hasNext();) {
            var field = fields.next();
            JsonNode value = field.getValue();
            switch (field.getKey()) {
                case "epsilon" -> assertEquals(value.doubleValue(), model.getEpsilon());
                case "inputCols" -> assertEquals(value.size(), model.getInputCols().length);
                case "gamma" -> {
                    double[] expected = new double[value.size()];
                    for (int j = 0; j < expected.length; j++) {
                        expected[j] = value.get(j).doubleValue();
                    }
                    assertArrayEquals(expected, model.getGamma());
                }
                case "varianceMode" -> assertEquals(value.textValue(), model.getVarianceMode());
                case "handleInvalid" -> assertEquals(value.textValue(), model.getHandleInvalid());
                case "center" -> assertEquals(value.booleanValue(), model.getCenter());
                default -> {
                }
            }
        }
    }

    @Provide
    Arbitrary<JsonNode> oddValues() {
        var nodes = MAPPER.getNodeFactory();
        return Arbitraries.of(MAPPER.nullNode(), nodes.textNode("1.5"), nodes.textNode("NaN"), nodes.numberNode(-1),
                nodes.numberNode(0), nodes.numberNode(3), nodes.numberNode(1e308),
                nodes.numberNode(new java.math.BigDecimal("1e400")), nodes.booleanNode(false), MAPPER.createArrayNode(),
                MAPPER.createObjectNode(), MAPPER.createArrayNode().add("a").add(1), MAPPER.createArrayNode().add(2.5),
                nodes.textNode(""), nodes.textNode("keep"), nodes.textNode(CLASS), nodes.textNode("org.apache.spark.ml.PipelineModel"));
    }

    private static final List<String> TOP = List.of("class", "timestamp", "sparkVersion", "uid", "paramMap",
            "defaultParamMap", "formatVersion");
    private static final List<String> PARAMS = List.of("epsilon", "inputCols", "outputCols", "gamma", "varianceMode",
            "handleInvalid", "center", "inputCol", "momentum", "aggregationDepth", "summation", "weightCol", "beta",
            "scale", "noSuchParam");

    @Property(tries = 1500, seed = "20261125")
    void mutatedMetadataIsReadWithItsParamsOrRefusedWithAMessage(@ForAll("documents") ObjectNode document,
            @ForAll("oddValues") JsonNode odd, @ForAll @IntRange(min = 0, max = 4) int mutation,
            @ForAll @IntRange(min = 0, max = 100) int which, @ForAll @IntRange(min = 0, max = 10_000) int at) {
        String text;
        ObjectNode params = (ObjectNode) document.get("paramMap");
        switch (mutation) {
            case 0 -> {
                document.remove(TOP.get(which % TOP.size()));
                text = document.toString();
            }
            case 1 -> {
                document.set(TOP.get(which % TOP.size()), odd);
                text = document.toString();
            }
            case 2 -> {
                params.set(PARAMS.get(which % PARAMS.size()), odd);
                text = document.toString();
            }
            case 3 -> {
                String whole = document.toString();
                text = whole.substring(0, at % (whole.length() + 1));
            }
            default -> {
                String whole = document.toString();
                int position = at % (whole.length() + 1);
                text = whole.substring(0, position) + GARBLE.charAt(which % GARBLE.length()) + whole.substring(position);
            }
        }
        BatchNormalizationModel model;
        try {
            model = read(text);
        } catch (IllegalArgumentException refused) {
            assertTrue(refused.getMessage().contains("'" + PATH + "'"), refused.getMessage());
            assertEquals(1, refused.getMessage().lines().count(), refused.getMessage());
            REFUSED.incrementAndGet();
            return;
        }
        try {
            assertHolds(MAPPER.readTree(text).get("paramMap"), model);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError("accepted text that is not JSON: " + text, e);
        }
        ACCEPTED.incrementAndGet();
    }
}
