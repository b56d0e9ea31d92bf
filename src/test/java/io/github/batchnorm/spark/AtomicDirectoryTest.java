package io.github.batchnorm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Leftovers of dead writers are removed, live writers' never; concurrent writers never mix their directories. */
@DisplayName("All-or-nothing directories with leftovers and concurrent writers")
class AtomicDirectoryTest {
    private static final int FILES = 12;
    private final Configuration configuration = new Configuration();

    @TempDir
    Path directory;

    private List<String> siblings() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(file -> file.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    /** A leftover temporary sibling of {@code out} whose writer file names the given process. */
    private Path leftover(String id, String host, long pid, String start) throws IOException {
        Path folder = directory.resolve(".out.tmp-" + id);
        Files.createDirectories(folder.resolve("content"));
        Files.writeString(folder.resolve("content/part-0"), "half written");
        Files.writeString(folder.resolve("writer"), "host=" + host + "\npid=" + pid + "\nstart=" + start + "\n");
        return folder;
    }

    private static String start(ProcessHandle process) {
        return process.info().startInstant().map(Object::toString).orElseThrow();
    }

    private static String host() throws IOException {
        return java.net.InetAddress.getLocalHost().getHostName();
    }

    private List<String> writeOne(String content) {
        return AtomicDirectory.write(directory.resolve("out").toString(), configuration, temporary -> {
            try {
                Files.createDirectories(Path.of(temporary));
                Files.writeString(Path.of(temporary, "part-0"), content);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @Test
    void aLaterWriteRemovesTheLeftoversOfDeadWritersAndSaysSo() throws Exception {
        Process finished = new ProcessBuilder("sleep", "0.2").start();
        String finishedStart = start(finished.toHandle());
        finished.waitFor();
        leftover("dead", host(), finished.pid(), finishedStart);
        leftover("reused", host(), ProcessHandle.current().pid(), "1970-01-01T00:00:00Z");
        Files.createDirectories(directory.resolve(".out.tmp-legacy/content"));

        List<String> removed = writeOne("new");
        assertEquals(3, removed.size(), removed.toString());
        assertTrue(removed.stream().anyMatch(line -> line.contains(".out.tmp-dead") && line.contains("process "
                + finished.pid())), removed.toString());
        assertEquals(List.of("out"), siblings());
        assertEquals("new", Files.readString(directory.resolve("out/part-0")));
    }

    @Test
    void liveWritersAndWritersOnOtherHostsKeepTheirTemporaryFolders() throws Exception {
        Process running = new ProcessBuilder("sleep", "60").start();
        try {
            leftover("running", host(), running.pid(), start(running.toHandle()));
            leftover("self", host(), ProcessHandle.current().pid(), start(ProcessHandle.current()));
            leftover("elsewhere", "another-host.example", 1, "2026-01-01T00:00:00Z");
            assertEquals(List.of(), writeOne("first"));
            assertEquals(List.of(".out.tmp-elsewhere", ".out.tmp-running", ".out.tmp-self", "out"), siblings());
        } finally {
            running.destroy();
            running.waitFor();
        }
        List<String> removed = writeOne("second");
        assertEquals(1, removed.size(), removed.toString());
        assertTrue(removed.get(0).contains(".out.tmp-running"), removed.toString());
        assertEquals(List.of(".out.tmp-elsewhere", ".out.tmp-self", "out"), siblings());
    }

    /** Writes {@link #FILES} files, slowly, each holding the writer's name. */
    private void slowWrite(String temporary, String writer) {
        try {
            Files.createDirectories(Path.of(temporary));
            for (int i = 0; i < FILES; i++) {
                Files.writeString(Path.of(temporary, "part-" + i), writer);
                Thread.sleep(3);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The writers whose files are in {@code out}, after checking it holds exactly one complete set. */
    private Set<String> assertOneCompleteDirectory() throws IOException {
        Set<String> writers = new TreeSet<>();
        List<String> names = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory.resolve("out"))) {
            for (Path file : files.filter(file -> !file.getFileName().toString().startsWith(".")).toList()) {
                names.add(file.getFileName().toString());
                writers.add(Files.readString(file));
            }
        }
        assertEquals(FILES, names.size(), names.toString());
        assertEquals(1, writers.size(), "files of one writer only: " + writers);
        return writers;
    }

    @Test
    void writersInManyThreadsLeaveOneCompleteDirectoryWhetherTheyReplaceOrNot() throws Exception {
        int threads = 6;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < 5; round++) {
                boolean replace = round % 2 == 0;
                CountDownLatch start = new CountDownLatch(1);
                List<Future<String>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    String writer = "round " + round + " writer " + t;
                    results.add(pool.submit(() -> {
                        start.await();
                        try {
                            AtomicDirectory.write(directory.resolve("out").toString(), configuration, replace,
                                    temporary -> slowWrite(temporary, writer));
                            return "written";
                        } catch (AtomicDirectory.TargetExistsException e) {
                            assertTrue(e.getMessage().contains("written by another job"), e.getMessage());
                            return "refused";
                        }
                    }));
                }
                start.countDown();
                List<String> outcomes = new ArrayList<>();
                for (Future<String> result : results) {
                    outcomes.add(result.get());
                }
                Set<String> winner = assertOneCompleteDirectory();
                assertTrue(winner.iterator().next().startsWith("round " + round + " "), winner.toString());
                long written = outcomes.stream().filter("written"::equals).count();
                assertEquals(replace ? threads : 1, written, "round " + round + ": " + outcomes);
                assertEquals(List.of("out"), siblings(), "nothing left beside it");
                deleteOut();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Writes one directory the slow way from its own process: target, writer name, replace. */
    public static final class WriterProcess {
        public static void main(String[] args) {
            try {
                AtomicDirectory.write(args[0], new Configuration(), Boolean.parseBoolean(args[2]), temporary -> {
                    try {
                        Files.createDirectories(Path.of(temporary));
                        for (int i = 0; i < FILES; i++) {
                            Files.writeString(Path.of(temporary, "part-" + i), args[1]);
                            Thread.sleep(20);
                        }
                    } catch (IOException | InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                });
                System.out.println("written");
            } catch (AtomicDirectory.TargetExistsException e) {
                System.out.println("refused");
            }
        }
    }

    @Test
    void writersInSeveralProcessesLeaveOneCompleteDirectory() throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = ProcessHandle.current().info().command().orElse("java");
        for (boolean replace : new boolean[] {true, false}) {
            List<Process> processes = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                processes.add(new ProcessBuilder(java, "-XX:-UsePerfData", "-cp", classPath, WriterProcess.class.getName(),
                        directory.resolve("out").toString(), "process " + p, Boolean.toString(replace))
                        .redirectError(ProcessBuilder.Redirect.INHERIT).start());
            }
            List<String> outcomes = new ArrayList<>();
            for (Process process : processes) {
                List<String> lines = new String(process.getInputStream().readAllBytes()).strip().lines().toList();
                outcomes.add(lines.isEmpty() ? "" : lines.get(lines.size() - 1));
                assertEquals(0, process.waitFor());
            }
            assertOneCompleteDirectory();
            assertEquals(replace ? 3 : 1, outcomes.stream().filter("written"::equals).count(), outcomes.toString());
            assertEquals(List.of("out"), siblings());
            deleteOut();
        }
    }

    private void deleteOut() throws IOException {
        try (Stream<Path> walk = Files.walk(directory.resolve("out"))) {
            for (Path file : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
        }
    }
}
