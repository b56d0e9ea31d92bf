package io.github.batchnorm.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import io.github.batchnorm.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The batchnorm command on saved models of hashed columns, 2^28 features and the widest Spark allows: describe prints
 * the stored features and one line for the others, and describe --json then import gives back a model that stores the
 * same features with the same numbers, saved in format 3.
 */
@DisplayName("The batchnorm command on models of 2^28 features and more")
class WideModelJobTest {
    private static final long ROWS = 10;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path directory;

    @BeforeAll
    static void startSpark() {
        SparkTestSession.get();
    }

    private String path(String name) {
        return directory.resolve(name).toString();
    }

    /**
     * A fitted model of {@code dimension} features of which four are stored, built from its statistics: 0 (mean 1/3,
     * variance 0.1), 7 (mean -2.5, variance 0.25), 123,456,789 (the smallest positive mean, no variance, missing in 2 of
     * 10 rows) and the last feature (mean 1e300, variance 1e-300). Doubles whose shortest decimal forms are long, or
     * at the ends of the range, so that the JSON round trip is tested on every digit.
     */
    static BatchNormalizationModel model(int dimension, VarianceMode mode) {
        FeatureStatistics statistics = FeatureStatistics.stored(ROWS, dimension,
                new int[] {0, 7, 123_456_789, dimension - 1}, new long[] {ROWS, ROWS, 8, ROWS},
                new double[] {ROWS, ROWS, 8, ROWS}, new double[] {ROWS, ROWS, 8, ROWS},
                new double[] {1.0 / 3.0, -2.5, Double.MIN_VALUE, 1e300}, new double[] {0.1, 0.25, 0.0, 1e-300}, ROWS,
                ROWS);
        BatchNormalizationModel model = new BatchNormalizationModel("batchNorm_wide", statistics);
        model.setInputCol("hashed").setOutputCol("scaled").setVarianceMode(mode.paramValue()).setEpsilon(1e-3);
        return model;
    }

    static String metadata(Path model) throws IOException {
        try (Stream<Path> files = Files.list(model.resolve("metadata"))) {
            return Files.readString(files.filter(f -> f.getFileName().toString().startsWith("part-")).findFirst()
                    .orElseThrow());
        }
    }

    @Test
    void describeOfASavedModelOfTwoToTheTwentyEightFeaturesListsItsStoredFeaturesAndOneLineForTheOthers()
            throws IOException {
        int dimension = 1 << 28;
        model(dimension, VarianceMode.POPULATION).save(path("model"));
        assertTrue(metadata(directory.resolve("model")).contains("\"formatVersion\":3"));

        JobRun text = JobRun.of("describe", "--model", path("model"));
        assertEquals(0, text.exitCode(), text.err());
        String[] lines = text.out().split("\n");
        assertEquals(List.of("feature", "count", "mean", "variance", "gamma", "beta"), List.of(lines[0].split(" +")));
        assertEquals(List.of("hashed[0]", "10", "0.333333", "0.100000", "1.00000", "0.00000"),
                List.of(lines[1].trim().split(" +")));
        assertEquals(List.of("hashed[7]", "10", "-2.50000", "0.250000", "1.00000", "0.00000"),
                List.of(lines[2].trim().split(" +")));
        assertEquals(List.of("hashed[123456789]", "8", "4.90000e-324", "0.00000", "1.00000", "0.00000"),
                List.of(lines[3].trim().split(" +")));
        assertEquals(List.of("hashed[268435455]", "10", "1.00000e+300", "1.00000e-300", "1.00000", "0.00000"),
                List.of(lines[4].trim().split(" +")));
        assertEquals(List.of("the", "other", "268435452", "10", "0.00000", "0.00000", "1.00000", "0.00000"),
                List.of(lines[5].trim().split(" +")));
        assertEquals("268435456 features: 4 stored (a value other than zero, or a missing value, in some row),"
                + " 268435452 implicit (zero in every row)", lines[6]);
        assertEquals("epsilon 0.001, population variance, 10 rows", lines[7]);
        assertTrue(text.out().length() < 2_000, text.out());

        JobRun json = JobRun.of("describe", "--model", path("model"), "--json");
        assertEquals(0, json.exitCode(), json.err());
        assertTrue(json.out().length() < 2_000, json.out());
        JsonNode document = MAPPER.readTree(json.out());
        assertEquals("hashed", document.get("inputCol").textValue());
        assertEquals(0.001, document.get("epsilon").doubleValue());
        assertTrue(document.get("exact").booleanValue());
        assertEquals(dimension, document.get("numFeatures").intValue());
        assertEquals(4, document.get("storedFeatures").longValue());
        assertEquals(dimension - 4L, document.get("implicitFeatures").longValue());
        assertEquals(ROWS, document.get("rowCount").longValue());
        assertEquals("[0,7,123456789,268435455]", document.get("features").toString());
        assertEquals("[10,10,8,10]", document.get("count").toString());
        assertEquals("[0.3333333333333333,-2.5,4.9E-324,1.0E300]", document.get("mean").toString());
        assertEquals("[0.1,0.25,0.0,1.0E-300]", document.get("variance").toString());
        assertEquals("[1.0,1.0,1.0,1.0]", document.get("gamma").toString());
        assertEquals("[0.0,0.0,0.0,0.0]", document.get("beta").toString());
        assertEquals("{\"count\":10,\"mean\":0.0,\"variance\":0.0,\"gamma\":1.0,\"beta\":0.0}",
                document.get("otherFeatures").toString());
        assertFalse(document.has("inputCols"));
    }

    static Stream<Arguments> wideModels() {
        return Stream.of(Arguments.of(1 << 28, VarianceMode.POPULATION),
                Arguments.of(Integer.MAX_VALUE - 1, VarianceMode.SAMPLE));
    }

    @ParameterizedTest(name = "{0} features, {1} variance")
    @MethodSource("wideModels")
    void describeJsonThenImportGivesAStoredModelOfTheSameNumbersBitForBit(int dimension, VarianceMode mode)
            throws IOException {
        BatchNormalizationModel original = model(dimension, mode);
        original.save(path("model"));
        JobRun described = JobRun.of("describe", "--model", path("model"), "--json");
        assertEquals(0, described.exitCode(), described.err());
        Files.writeString(directory.resolve("model.json"), described.out());

        JobRun imported = JobRun.of("import", "--json", path("model.json"), "--model", path("imported"));
        assertEquals(0, imported.exitCode(), imported.err());
        assertTrue(imported.out().contains("Imported " + dimension + " features; model saved to " + path("imported")),
                imported.out());
        assertTrue(metadata(directory.resolve("imported")).contains("\"formatVersion\":3"),
                "saved as statistics that store some features");

        FeatureStatistics expected = original.statistics();
        BatchNormalizationModel loaded = BatchNormalizationModel.load(path("imported"));
        FeatureStatistics actual = loaded.statistics();
        assertFalse(actual.storesEveryFeature());
        assertFalse(actual.isExact(), "imported statistics are running statistics");
        assertEquals(mode, actual.storedVarianceMode());
        assertEquals(dimension, actual.numFeatures());
        assertEquals(expected.rowCount(), actual.rowCount());
        assertArrayEquals(expected.storedFeatures(), actual.storedFeatures());
        assertArrayEquals(expected.storedCount(), actual.storedCount());
        assertArrayEquals(bits(expected.storedMean()), bits(actual.storedMean()));
        assertArrayEquals(bits(expected.storedVariance(mode)), bits(actual.storedVariance(mode)));
        assertEquals(original.getEpsilon(), loaded.getEpsilon());
        assertEquals(mode.paramValue(), loaded.getVarianceMode());
        assertEquals("hashed", loaded.getInputCol());
        assertEquals("scaled", loaded.getOutputCol());
        assertEquals(original.coefficients(), loaded.coefficients(), "the same map, feature by feature");

        JobRun again = JobRun.of("describe", "--model", path("imported"), "--json");
        assertEquals(0, again.exitCode(), again.err());
        ObjectNode before = (ObjectNode) MAPPER.readTree(described.out());
        ObjectNode after = (ObjectNode) MAPPER.readTree(again.out());
        assertTrue(before.remove("exact").booleanValue());
        assertFalse(after.remove("exact").booleanValue());
        assertEquals(before, after, "every other field, with identical numbers");
    }

    private static long[] bits(double[] values) {
        return java.util.Arrays.stream(values).mapToLong(Double::doubleToRawLongBits).toArray();
    }

    /** A mutation of the described document, and the one line that import must refuse it with. */
    private record Refusal(String what, Consumer<ObjectNode> mutation, String problem) {
    }

    @Test
    void importRefusesAMalformedStoredFeaturesDocumentNamingTheFieldAndWritesNothing() throws IOException {
        model(1 << 28, VarianceMode.POPULATION).save(path("model"));
        JobRun described = JobRun.of("describe", "--model", path("model"), "--json");
        assertEquals(0, described.exitCode(), described.err());
        List<Refusal> refusals = List.of(
                new Refusal("features not increasing", d -> features(d).set(2, 7),
                        "'features' has 7 after 7 at position 2; the stored features must be listed once each,"
                                + " increasing"),
                new Refusal("a feature past the dimension", d -> features(d).set(3, 1 << 28),
                        "'features' has 268435456 at position 3, outside [0, 268435456) given by 'numFeatures'"),
                new Refusal("a negative feature", d -> features(d).set(0, -1),
                        "'features' has -1 at position 0, outside [0, 268435456) given by 'numFeatures'"),
                new Refusal("a feature that is not a whole number", d -> features(d).set(1, 7.5),
                        "'features' must hold feature indices (whole numbers), but has 7.5"),
                new Refusal("features not an array", d -> d.put("features", 7),
                        "'features' must be an array of the stored features' indices, increasing"),
                new Refusal("a mean too short", d -> ((ArrayNode) d.get("mean")).remove(3),
                        "'mean' has 3 values but 'features' lists 4 features; give one per listed feature"),
                new Refusal("a variance too long", d -> ((ArrayNode) d.get("variance")).add(1.0),
                        "'variance' has 5 values but 'features' lists 4 features; give one per listed feature"),
                new Refusal("a count too short", d -> ((ArrayNode) d.get("count")).remove(0),
                        "'count' must be an array of 4 whole numbers, one per feature in 'features'"),
                new Refusal("a gamma other than 1", d -> ((ArrayNode) d.get("gamma")).set(1, 2.0),
                        "'gamma' is 2.0 for feature 7, but with 'features' it must be 1.0 for every feature: a"
                                + " per-feature gamma has a value for every feature of the dimension, so give such a"
                                + " model with one value per feature and without 'features'"),
                new Refusal("a negative variance", d -> ((ArrayNode) d.get("variance")).set(2, -0.5),
                        "'variance' is -0.5 for feature 123456789; every variance must be finite and >= 0"),
                new Refusal("the others' mean not 0", d -> others(d).put("mean", 0.5),
                        "'otherFeatures.mean' is 0.5 but must be 0.0: a feature not in 'features' is zero in every"
                                + " row (mean 0, variance 0) and has the default gamma 1 and beta 0; list a feature"
                                + " with other values in 'features'"),
                new Refusal("the others' count not rowCount", d -> others(d).put("count", 9),
                        "'otherFeatures.count' is 9 but 'rowCount' is 10: a feature not in 'features' is zero in"
                                + " every row, so its count is rowCount"),
                new Refusal("an unknown field of the others", d -> others(d).put("scale", 1.0),
                        "unknown field 'otherFeatures.scale'; its fields are count, mean, variance, gamma, beta"),
                new Refusal("the others not an object", d -> d.put("otherFeatures", "rowCount"),
                        "'otherFeatures' must be an object with the count, mean, variance, gamma, beta of every"
                                + " feature not in 'features'"),
                new Refusal("features without the others", d -> d.remove("otherFeatures"),
                        "'features' goes with 'otherFeatures': 'features' lists the stored features and"
                                + " 'otherFeatures' gives the values of every other feature"),
                new Refusal("no dimension", d -> d.remove("numFeatures"),
                        "'numFeatures' is missing: with 'features', it gives the dimension"),
                new Refusal("a dimension too large", d -> d.put("numFeatures", 1L << 31),
                        "'numFeatures' must be a whole number from 1 to 2147483647, but is 2147483648"),
                new Refusal("scalar columns", d -> d.remove("inputCol"),
                        "give 'inputCols' (the numeric columns, one per feature) or 'inputCol' (one Vector or array"
                                + " column), not both and not neither"),
                new Refusal("a stored count out of step", d -> d.put("storedFeatures", 5),
                        "'storedFeatures' is 5 but the statistics give 4 (implicit: zero in every row, so count ="
                                + " rowCount, mean 0 and variance 0); correct it or leave it out"));
        for (Refusal refusal : refusals) {
            ObjectNode document = (ObjectNode) MAPPER.readTree(described.out());
            refusal.mutation().accept(document);
            Files.writeString(directory.resolve("bad.json"), document.toString());
            JobRun result = JobRun.of("import", "--json", path("bad.json"), "--model", path("imported"));
            assertEquals(2, result.exitCode(), refusal.what() + ": " + result.err());
            assertEquals("batchnorm: --json " + path("bad.json") + ": " + refusal.problem() + ".\n", result.err(),
                    refusal.what());
            assertFalse(Files.exists(directory.resolve("imported")), refusal.what() + ": nothing written");
        }
    }

    private static ArrayNode features(ObjectNode document) {
        return (ArrayNode) document.get("features");
    }

    private static ObjectNode others(ObjectNode document) {
        return (ObjectNode) document.get("otherFeatures");
    }
}
