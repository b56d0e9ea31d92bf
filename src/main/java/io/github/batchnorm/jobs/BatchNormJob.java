package io.github.batchnorm.jobs;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code batchnorm} command: fit (and update), transform, fit-transform, describe, import, demo and sample-data
 * subcommands.
 *
 * <p>Runs on {@code local[*]} unless a master is configured ({@code --master}, or {@code spark-submit --master}), so the
 * same main class works on a laptop and on a cluster. Exit codes: 0 success; 2 bad usage or bad input, with a one-line
 * message naming what was wrong; 1 any other failure.
 */
@Command(name = "batchnorm", mixinStandardHelpOptions = true, version = "spark-batchnorm 0.1.0",
        description = "Batch normalisation of tables on disk (CSV, Parquet, ORC, JSON) with Apache Spark.",
        subcommands = {FitCommand.class, TransformCommand.class, FitTransformCommand.class, DescribeCommand.class,
            ImportCommand.class, DemoCommand.class, SampleDataCommand.class, CommandLine.HelpCommand.class})
public final class BatchNormJob implements Runnable {
    static final int OK = 0;
    static final int FAILURE = 1;
    static final int BAD_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing a subcommand: fit, transform,"
                + " fit-transform, describe, import, demo or sample-data.");
    }

    public static void main(String[] args) {
        boolean verbose = java.util.Arrays.asList(args).contains("--verbose");
        if (!verbose && System.getProperty("log4j2.configurationFile") == null) {
            // Must happen before anything touches log4j; Spark would otherwise install its INFO-level default.
            System.setProperty("log4j2.configurationFile", "classpath:io/github/batchnorm/jobs/log4j2-quiet.properties");
        }
        int code = execute(args, System.out, System.err);
        SparkSession.getDefaultSession().foreach(session -> {
            session.stop();
            return null;
        });
        System.exit(code);
    }

    /**
     * Runs the command in this JVM and returns its exit code; a Spark session that already exists is used and left
     * running (tests share one).
     */
    static int execute(String[] args, PrintStream out, PrintStream err) {
        CommandLine commandLine = new CommandLine(new BatchNormJob());
        commandLine.setResourceBundle(new ParamDocs());
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        commandLine.setParameterExceptionHandler((exception, arguments) -> {
            CommandLine command = exception.getCommandLine();
            command.getErr().println("batchnorm: " + exception.getMessage());
            command.getErr().println("Try '" + command.getCommandSpec().qualifiedName() + " --help'.");
            return BAD_INPUT;
        });
        commandLine.setExecutionExceptionHandler((exception, command, parseResult) -> {
            Failures.Outcome outcome = Failures.classify(exception);
            command.getErr().println("batchnorm: " + outcome.message());
            if (parseResult.subcommand() != null && parseResult.subcommand().hasMatchedOption("--verbose")) {
                exception.printStackTrace(err);
            }
            return outcome.exitCode();
        });
        int code = commandLine.execute(args);
        commandLine.getOut().flush();
        commandLine.getErr().flush();
        return code;
    }

    /** Options every Spark-running subcommand has. */
    static final class SparkOptions {
        @Option(names = "--master", paramLabel = "URL",
                description = "Spark master; default: the one spark-submit configured, else local[*].")
        String master;

        @Option(names = "--verbose", description = "Spark's info logs, and stack traces on errors.")
        boolean verbose;

        /** The running session, or a new one, with Spark's progress bar when the output is a terminal. */
        SparkSession session(String appName) {
            SparkSession existing = SparkSession.getActiveSession().getOrElse(() -> SparkSession.getDefaultSession()
                    .getOrElse(() -> null));
            if (existing != null) {
                return existing;
            }
            SparkConf conf = new SparkConf();
            SparkSession.Builder builder = SparkSession.builder().appName("batchnorm " + appName)
                    .config("spark.ui.showConsoleProgress", System.console() != null);
            String effectiveMaster = master != null ? master : conf.get("spark.master", "local[*]");
            builder = builder.master(effectiveMaster);
            String jars = jarsToShip(effectiveMaster, conf.get("spark.jars", ""), ownJar());
            if (jars != null) {
                builder = builder.config("spark.jars", jars);
            }
            return builder.getOrCreate();
        }
    }

    /**
     * The {@code spark.jars} value a driver needs so that executors in other JVMs can load this library, or null when
     * nothing must change. {@code spark-submit} ships the application jar itself; a driver started as a plain
     * {@code java -cp} (jobs/batchnorm) must name it, or every task fails with {@code ClassNotFoundException}. Local
     * mode runs tasks in the driver's JVM and needs nothing.
     *
     * @param ownJar the jar this class was loaded from, or null when it was loaded from a directory (tests, an IDE)
     */
    static String jarsToShip(String master, String configuredJars, String ownJar) {
        boolean sameJvm = master.equals("local") || master.startsWith("local[");
        if (sameJvm || ownJar == null) {
            return null;
        }
        String ownName = Path.of(ownJar).getFileName().toString();
        for (String jar : configuredJars.split(",")) {
            String entry = jar.trim();
            if (entry.equals(ownName) || entry.endsWith("/" + ownName)) {
                return null;
            }
        }
        return configuredJars.isBlank() ? ownJar : configuredJars + "," + ownJar;
    }

    /** The jar file this class was loaded from, or null if it came from a class directory. */
    private static String ownJar() {
        try {
            CodeSource source = BatchNormJob.class.getProtectionDomain().getCodeSource();
            if (source == null) {
                return null;
            }
            Path location = Path.of(source.getLocation().toURI());
            return Files.isRegularFile(location) && location.toString().endsWith(".jar") ? location.toString() : null;
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null;
        }
    }
}
