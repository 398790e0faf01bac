package dev.glimpse.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The durability requirement, end to end with the real jar: kill -9 the server in the middle of a caption job; after a
 * restart on the same data directory the job resumes by itself; every result reported before the kill is kept
 * byte for byte, no image appears twice in the output and none is lost.
 *
 * <p>Runs in {@code mvn verify} (failsafe) after {@code package} has built {@code target/glimpse.jar}. The child servers'
 * output goes to {@code target/it-logs/}; the tail is printed when the test fails.
 */
class CaptionJobKillIT {

    static final int IMAGES = 300;
    /** Kill once at least this many images are done (and reported). */
    static final int KILL_AFTER = 20;
    static final int MAX_TOKENS = 16;
    static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

    final ObjectMapper json = new ObjectMapper();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path tmp;

    @Test
    void killDashNineMidJobThenRestartResumesWithoutLossOrDuplicates() throws Exception {
        Path jar = Path.of(System.getProperty("glimpse.jar", "target/glimpse.jar")).toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), jar + " is missing: run `mvn verify` (package builds it before the ITs run)");
        Path images = tmp.resolve("images");
        Path dataDir = tmp.resolve("data");
        List<String> expected = writeImages(images, IMAGES);   // sorted relative paths: the results' order
        Path logDir = Path.of("target", "it-logs").toAbsolutePath();
        Files.createDirectories(logDir);

        List<Server> servers = new ArrayList<>();
        try {
            // ---- first life: create the job, let it get going, kill -9 it mid-job
            Server first = Server.start(jar, dataDir, images, logDir.resolve("CaptionJobKillIT-1-before-kill.log"));
            servers.add(first);
            waitReady(first);

            long t0 = System.nanoTime();
            HttpResponse<String> created = send(first, HttpRequest.newBuilder(first.uri("/v1/caption-jobs"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(Map.of(
                            "source", Map.of("folder", images.toString()), "max_tokens", MAX_TOKENS)))));
            assertEquals(200, created.statusCode(), "create caption job: " + created.body());
            JsonNode job = json.readTree(created.body());
            String id = job.path("id").asText();
            assertTrue(id.startsWith("capjob_"), "job id: " + created.body());
            assertEquals("caption_job", job.path("object").asText(), created.body());

            JsonNode before;
            while (true) {
                before = getJson(first, "/v1/caption-jobs/" + id);
                String status = before.path("status").asText();
                if (!Set.of("validating", "in_progress").contains(status)) {
                    fail("the job reached '" + status + "' before " + KILL_AFTER + " images were done, so it cannot be "
                            + "killed mid-job: " + before);
                }
                if (before.path("progress").path("done").asInt() >= KILL_AFTER) break;
                if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(60)) {
                    fail("fewer than " + KILL_AFTER + " images done after 60 s: " + before);
                }
                Thread.sleep(25);
            }
            String snapshotBody = getText(first, "/v1/caption-jobs/" + id + "/results");
            first.process.destroyForcibly();   // SIGKILL: no shutdown hook, no graceful drain
            assertTrue(first.process.waitFor(30, TimeUnit.SECONDS), "the killed server did not exit");
            int exit = first.process.exitValue();
            double firstLifeSeconds = (System.nanoTime() - t0) / 1e9;

            assertEquals(137, exit, "the first server should have died of SIGKILL (exit 128+9)");
            List<String> snapshot = lines(snapshotBody);
            String statusAtKill = before.path("status").asText();
            int doneAtKill = before.path("progress").path("done").asInt();
            assertEquals("in_progress", statusAtKill, "the job must be in progress when the server is killed: " + before);
            assertTrue(snapshot.size() >= doneAtKill,
                    "results reported before the kill (" + snapshot.size() + " lines) fewer than progress.done (" + doneAtKill + ")");
            assertTrue(snapshot.size() < IMAGES, "the job had already produced all " + IMAGES + " results before the kill "
                    + "(the kill did not happen mid-job): make the job bigger or slower");
            System.out.printf("CaptionJobKillIT: killed after %.1f s with %d/%d results reported (progress.done %d)%n",
                    firstLifeSeconds, snapshot.size(), IMAGES, doneAtKill);

            // ---- second life: same data directory, no new request but GETs; the job must finish by itself
            Server second = Server.start(jar, dataDir, images, logDir.resolve("CaptionJobKillIT-2-after-restart.log"));
            servers.add(second);
            long t1 = System.nanoTime();
            waitReady(second);
            JsonNode after;
            while (true) {
                after = getJson(second, "/v1/caption-jobs/" + id);
                String status = after.path("status").asText();
                if (status.equals("completed")) break;
                if (!Set.of("validating", "in_progress", "finalizing").contains(status)) {
                    fail("after the restart the job ended '" + status + "' instead of completed: " + after);
                }
                if (System.nanoTime() - t1 > TimeUnit.SECONDS.toNanos(120)) {
                    fail("the job did not complete within 120 s of the restart: " + after);
                }
                Thread.sleep(100);
            }
            System.out.printf("CaptionJobKillIT: completed %.1f s after the restart: %s%n", (System.nanoTime() - t1) / 1e9,
                    after.path("progress"));

            // ---- the output: one line per image, in path order; every reported line kept byte for byte
            List<String> out = lines(getText(second, "/v1/caption-jobs/" + id + "/results"));
            Map<String, String> byPath = new LinkedHashMap<>();
            Map<String, Integer> duplicates = new TreeMap<>();
            List<String> errors = new ArrayList<>();
            List<String> paths = new ArrayList<>();
            for (String line : out) {
                JsonNode o = json.readTree(line);
                String path = o.path("path").asText(null);
                assertTrue(path != null, "result line without a path: " + line);
                paths.add(path);
                if (byPath.put(path, line) != null) duplicates.merge(path, 2, (a, b) -> a + 1);
                if (!o.path("error").isNull() || !o.path("caption").isTextual()) errors.add(line);
            }
            assertTrue(duplicates.isEmpty(), "images that appear more than once in the output: " + duplicates);
            Set<String> missing = new java.util.TreeSet<>(expected);
            missing.removeAll(byPath.keySet());
            assertTrue(missing.isEmpty(), missing.size() + " images missing from the output, e.g. "
                    + missing.stream().limit(10).toList());
            Set<String> unknown = new HashSet<>(byPath.keySet());
            expected.forEach(unknown::remove);
            assertTrue(unknown.isEmpty(), "output lines for files that are not in the folder: " + unknown);
            assertEquals(IMAGES, out.size(), "result lines");
            assertEquals(expected, paths, "result lines must follow the sorted relative paths");
            assertTrue(errors.isEmpty(), errors.size() + " failed images, e.g. " + errors.stream().limit(3).toList());

            Map<String, String> snapshotByPath = new HashMap<>();
            for (String line : snapshot) snapshotByPath.put(json.readTree(line).path("path").asText(), line);
            assertEquals(snapshot.size(), snapshotByPath.size(), "the pre-kill results listed an image twice: " + snapshot);
            for (Map.Entry<String, String> e : snapshotByPath.entrySet()) {
                assertEquals(e.getValue(), byPath.get(e.getKey()),
                        "a result reported before the kill changed (or vanished) after the restart: " + e.getKey());
            }

            JsonNode p = after.path("progress");
            assertEquals(IMAGES, p.path("total").asInt(), "progress.total: " + p);
            assertEquals(IMAGES, p.path("completed").asInt(), "progress.completed: " + p);
            assertEquals(0, p.path("failed").asInt(), "progress.failed: " + p);
            assertEquals(IMAGES, p.path("done").asInt(), "progress.done: " + p);

            // The job state lives in the store: the runner must never have hit a store error (e.g. a query that ran
            // before the schema was migrated) in either life.
            for (Server s : servers) {
                List<String> storeErrors = Files.readAllLines(s.log(), StandardCharsets.UTF_8).stream()
                        .filter(l -> l.contains(" ERROR ") && l.contains("dev.glimpse.jobs")).toList();
                assertTrue(storeErrors.isEmpty(), "job errors logged in " + s.log().getFileName() + ": " + storeErrors);
            }
        } catch (Throwable t) {
            for (Server s : servers) s.printLogTail(120);
            throw t;
        } finally {
            for (Server s : servers) s.kill();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------- server

    /** The jar in a child process on a free loopback port; its stdout and stderr go to {@code log}. */
    record Server(Process process, int port, Path log) {

        static Server start(Path jar, Path dataDir, Path captionRoot, Path log) throws IOException {
            int port = freePort();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder pb = new ProcessBuilder(java, "-jar", jar.toString(),
                    "--server.port=" + port,
                    "--server.address=127.0.0.1",
                    "--glimpse.data-dir=" + dataDir,
                    "--glimpse.model-dir=" + Path.of("src/test/resources/model-cards").toAbsolutePath(),
                    "--glimpse.model=kimivl-random",
                    "--glimpse.jobs.caption-roots=" + captionRoot);
            pb.environment().put("ORT_DISABLE_TELEMETRY", "1");
            pb.environment().put("DJL_OFFLINE", "true");
            pb.environment().put("OPT_OUT_TRACKING", "true");
            pb.redirectErrorStream(true);
            pb.redirectOutput(log.toFile());
            return new Server(pb.start(), port, log);
        }

        URI uri(String path) {
            return URI.create("http://127.0.0.1:" + port + path);
        }

        void kill() throws InterruptedException {
            if (process.isAlive()) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }

        void printLogTail(int n) {
            try {
                List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
                System.err.println("---- last " + Math.min(n, all.size()) + " lines of " + log);
                all.subList(Math.max(0, all.size() - n), all.size()).forEach(System.err::println);
                System.err.println("---- end of " + log);
            } catch (IOException e) {
                System.err.println("cannot read " + log + ": " + e);
            }
        }

        private static int freePort() throws IOException {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            }
        }
    }

    void waitReady(Server s) throws Exception {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            if (!s.process().isAlive()) fail("the server exited (" + s.process().exitValue() + ") before it was ready");
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(s.uri("/actuator/health/readiness"))
                        .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && json.readTree(r.body()).path("status").asText().equals("UP")) return;
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();   // not listening yet
            }
            Thread.sleep(250);
        }
        fail("the server was not ready within " + READY_TIMEOUT.toSeconds() + " s (last: " + last + ")");
    }

    HttpResponse<String> send(Server s, HttpRequest.Builder req) throws Exception {
        return http.send(req.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode getJson(Server s, String path) throws Exception {
        return json.readTree(getText(s, path));
    }

    String getText(Server s, String path) throws Exception {
        HttpResponse<String> r = send(s, HttpRequest.newBuilder(s.uri(path)).GET());
        assertEquals(200, r.statusCode(), "GET " + path + ": " + r.body());
        return r.body();
    }

    static List<String> lines(String body) {
        List<String> out = new ArrayList<>();
        for (String l : body.split("\n", -1)) {
            if (!l.isEmpty()) out.add(l);
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------------------------- images

    /**
     * {@code n} small distinct PNGs (56..112 px; background, shape, colour and a stripe all vary with the index), spread
     * over a few subfolders. Returns their relative paths sorted as the server lists them.
     */
    static List<String> writeImages(Path root, int n) throws IOException {
        Random rnd = new Random(20240917L);
        List<String> rels = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int w = 56 + rnd.nextInt(57);
            int h = 56 + rnd.nextInt(57);
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.getHSBColor((i * 0.618034f) % 1f, 0.25f + rnd.nextFloat() * 0.3f, 0.9f));
            g.fillRect(0, 0, w, h);
            g.setColor(Color.getHSBColor(rnd.nextFloat(), 0.7f + rnd.nextFloat() * 0.3f, 0.3f + rnd.nextFloat() * 0.6f));
            int x = rnd.nextInt(w / 3), y = rnd.nextInt(h / 3), sw = w / 3 + rnd.nextInt(w / 2), sh = h / 3 + rnd.nextInt(h / 2);
            switch (i % 4) {
                case 0 -> g.fillRect(x, y, sw, sh);
                case 1 -> g.fillOval(x, y, sw, sh);
                case 2 -> g.fillPolygon(new int[] {x, x + sw, x + sw / 2}, new int[] {y + sh, y + sh, y}, 3);
                default -> {
                    g.setStroke(new BasicStroke(2 + rnd.nextInt(5)));
                    g.drawLine(x, y, x + sw, y + sh);
                    g.drawLine(x + sw, y, x, y + sh);
                }
            }
            // index-dependent stripe: no two images are identical even if their random draws were
            g.setColor(new Color((i * 37) % 256, (i * 91) % 256, (i * 53) % 256));
            g.fillRect(0, h - 4, 4 + i % (w - 4), 4);
            g.dispose();
            String rel = "set" + (i % 3) + "/img_" + String.format("%04d", i) + ".png";
            Path file = root.resolve(rel);
            Files.createDirectories(file.getParent());
            if (!ImageIO.write(img, "png", file.toFile())) throw new IOException("no PNG writer");
            rels.add(rel);
        }
        rels.sort(null);
        return rels;
    }
}
