package io.github.batchnorm.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What a folder that should hold a saved model actually holds, found before Spark's reader touches it, so that a wrong
 * folder gets one line saying what it is: missing, a file, empty, a table, another stage's model (named), a
 * {@code PipelineModel} (its stages named), or a model whose metadata or data is missing or unreadable.
 *
 * <p>A {@code PipelineModel} with exactly one stage of the expected class is not an error: that stage is what a user
 * pointing at the pipeline means, so {@link #locate} returns the stage's folder and says so in {@link Location#note}.
 */
public final class ModelDirectory {
    private static final String PIPELINE_MODEL = "org.apache.spark.ml.PipelineModel";
    private static final String PIPELINE = "org.apache.spark.ml.Pipeline";

    private ModelDirectory() {
    }

    /**
     * Where the model to load is, and a note when it is not {@code path} itself.
     *
     * @param note null, or one line saying which stage of a pipeline is used
     * @param metadataJson the stage's metadata, as saved
     */
    public record Location(String path, String note, String metadataJson) {
    }

    /**
     * Finds the saved stage of class {@code expectedClass} at {@code path}, or inside the pipeline saved there.
     *
     * @throws IllegalArgumentException with one line that names the path and says what it holds instead
     */
    public static Location locate(String path, String expectedClass, Configuration configuration) {
        try {
            Path folder = new Path(path);
            FileSystem fs = folder.getFileSystem(configuration);
            String json = metadataJson(fs, folder, path);
            String className = className(json, path);
            if (className.equals(expectedClass)) {
                requireData(fs, folder, path);
                return new Location(path, null, json);
            }
            if (className.equals(PIPELINE_MODEL) || className.equals(PIPELINE)) {
                return inPipeline(fs, folder, path, className, expectedClass);
            }
            throw new IllegalArgumentException(ModelStore.oneLine("'" + path + "' holds a saved " + simpleName(className)
                    + " (" + className + "), not a " + simpleName(expectedClass) + "."));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Location inPipeline(FileSystem fs, Path folder, String path, String className, String expectedClass)
            throws IOException {
        Path stagesFolder = new Path(folder, "stages");
        FileStatus[] stages = fs.exists(stagesFolder) ? fs.listStatus(stagesFolder) : new FileStatus[0];
        Arrays.sort(stages, Comparator.comparing(stage -> stageIndex(stage.getPath().getName())));
        List<String> names = new ArrayList<>();
        List<String> matching = new ArrayList<>();
        String matchingJson = null;
        for (FileStatus stage : stages) {
            if (!stage.isDirectory() || hidden(stage.getPath().getName())) {
                continue;
            }
            String stagePath = stage.getPath().toString();
            String stageClass;
            String stageJson;
            try {
                stageJson = metadataJson(fs, stage.getPath(), stagePath);
                stageClass = className(stageJson, stagePath);
            } catch (IllegalArgumentException unreadable) {
                names.add("(unreadable " + stage.getPath().getName() + ")");
                continue;
            }
            names.add(simpleName(stageClass));
            if (stageClass.equals(expectedClass)) {
                matching.add(new Path(path, new Path("stages", stage.getPath().getName())).toString());
                matchingJson = stageJson;
            }
        }
        String what = "'" + path + "' holds a saved " + simpleName(className) + " with stages [" + String.join(", ", names)
                + "]";
        if (className.equals(PIPELINE)) {
            throw new IllegalArgumentException(what + ": an unfitted Pipeline, not a fitted "
                    + simpleName(expectedClass) + "; fit it first.");
        }
        if (matching.size() == 1) {
            requireData(fs, new Path(matching.get(0)), matching.get(0));
            return new Location(matching.get(0), "Using the " + simpleName(expectedClass) + " in '" + matching.get(0)
                    + "', stage " + (stageNumber(matching.get(0), names) + 1) + " of " + names.size() + " of the "
                    + simpleName(className) + " in '" + path + "'; its other stages are not applied.", matchingJson);
        }
        throw new IllegalArgumentException(what + (matching.isEmpty() ? ", none of them a " + simpleName(expectedClass)
                : ", " + matching.size() + " of them " + simpleName(expectedClass) + "s: give the folder of the one"
                        + " to use, one of " + String.join(", ", matching)) + ".");
    }

    private static int stageNumber(String stagePath, List<String> names) {
        int index = stageIndex(new Path(stagePath).getName());
        return index == Integer.MAX_VALUE ? names.size() - 1 : index;
    }

    /** Spark names pipeline stage folders {@code <index>_<uid>}. */
    private static int stageIndex(String name) {
        int underscore = name.indexOf('_');
        try {
            return Integer.parseInt(underscore < 0 ? name : name.substring(0, underscore));
        } catch (NumberFormatException e) {
            return Integer.MAX_VALUE;
        }
    }

    /** The single-line JSON that Spark's params writer saved under {@code folder/metadata}. */
    private static String metadataJson(FileSystem fs, Path folder, String path) throws IOException {
        if (!fs.exists(folder)) {
            throw new IllegalArgumentException("Model path '" + path + "' does not exist.");
        }
        if (!fs.getFileStatus(folder).isDirectory()) {
            throw new IllegalArgumentException("'" + path + "' is a file, not a folder with a saved model.");
        }
        Path metadata = new Path(folder, "metadata");
        if (!fs.exists(metadata)) {
            List<String> visible = visibleNames(fs, folder);
            if (visible.isEmpty()) {
                throw new IllegalArgumentException("'" + path + "' is an empty folder, not a saved model.");
            }
            boolean table = visible.stream().anyMatch(name -> name.startsWith("part-") || name.equals("_SUCCESS"));
            throw new IllegalArgumentException("'" + path + "' " + (table ? "holds a table" : "holds "
                    + shortList(visible)) + ", not a saved model (a saved model has a metadata folder).");
        }
        List<Path> files = new ArrayList<>();
        for (FileStatus file : fs.listStatus(metadata)) {
            if (file.isFile() && !hidden(file.getPath().getName()) && file.getLen() > 0) {
                files.add(file.getPath());
            }
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("'" + path + "' is an incomplete saved model: its metadata folder has no"
                    + " metadata file (a copy that did not finish?).");
        }
        files.sort(Comparator.comparing(Path::getName));
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(fs.open(files.get(0)),
                StandardCharsets.UTF_8))) {
            String line = reader.readLine();
            return line == null ? "" : line;
        } catch (IOException e) {
            throw new IllegalArgumentException("'" + path + "' has corrupt model metadata: its file cannot be read ("
                    + e.getClass().getSimpleName() + ": " + firstLine(e.getMessage()) + ").", e);
        }
    }

    private static String className(String json, String path) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("'" + path + "' has corrupt model metadata: not valid JSON ("
                    + firstLine(e.getMessage()) + ").");
        }
        if (root == null || !root.isObject() || !root.path("class").isTextual()) {
            throw new IllegalArgumentException("'" + path + "' has corrupt model metadata: no \"class\" field naming the"
                    + " saved stage.");
        }
        return root.get("class").textValue();
    }

    private static void requireData(FileSystem fs, Path folder, String path) throws IOException {
        Path data = new Path(folder, "data");
        if (!fs.exists(data) || visibleNames(fs, data).stream().noneMatch(name -> !name.startsWith("_"))) {
            throw new IllegalArgumentException("'" + path + "' is an incomplete saved model: its data folder with the"
                    + " statistics is missing or empty (a copy that did not finish?).");
        }
    }

    private static List<String> visibleNames(FileSystem fs, Path folder) throws IOException {
        List<String> names = new ArrayList<>();
        for (FileStatus file : fs.listStatus(folder)) {
            String name = file.getPath().getName();
            if (!name.startsWith(".")) {
                names.add(name);
            }
        }
        names.sort(null);
        return names;
    }

    private static boolean hidden(String name) {
        return name.startsWith(".") || name.startsWith("_");
    }

    private static String shortList(List<String> names) {
        List<String> shown = names.subList(0, Math.min(3, names.size()));
        return "'" + String.join("', '", shown) + "'" + (names.size() > shown.size() ? " and " + (names.size()
                - shown.size()) + " more" : "");
    }

    static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    static String firstLine(String message) {
        if (message == null) {
            return "no message";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
