package dev.glimpse.bench;

import dev.glimpse.GlimpseApplication;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The real server for the HTTP benchmarks, on 127.0.0.1 only: either a child JVM running this same jar (the default:
 * its resident memory is the server's alone) or a SpringApplication inside the bench JVM (tests).
 */
final class BenchServer implements AutoCloseable {

    private final Process process;                 // child mode
    private final ConfigurableApplicationContext context; // in-process mode
    private final int port;
    private final Path log;

    private BenchServer(Process process, ConfigurableApplicationContext context, int port, Path log) {
        this.process = process;
        this.context = context;
        this.port = port;
        this.log = log;
    }

    static BenchServer start(String mode, List<String> jvmArgs, Path cardsDir, String model, Path dataDir, int threads, Path log, int timeoutS)
            throws IOException, InterruptedException {
        List<String> props = List.of("--server.address=127.0.0.1", "--glimpse.model-dir=" + cardsDir.toAbsolutePath(),
                "--glimpse.model=" + model, "--glimpse.data-dir=" + dataDir.toAbsolutePath(),
                "--glimpse.runtime.intra-op-threads=" + threads, "--spring.main.banner-mode=off");
        if (mode.equals("inprocess")) {
            List<String> args = new ArrayList<>(props);
            args.add("--server.port=0");
            ConfigurableApplicationContext ctx = new SpringApplication(GlimpseApplication.class).run(args.toArray(String[]::new));
            int port = Integer.parseInt(ctx.getEnvironment().getProperty("local.server.port"));
            BenchServer s = new BenchServer(null, ctx, port, null);
            s.awaitReady(timeoutS);
            return s;
        }
        int port;
        try (ServerSocket ss = new ServerSocket(0)) {
            port = ss.getLocalPort();
        }
        List<String> cmd = new ArrayList<>(javaCommand());
        cmd.addAll(1, jvmArgs);
        cmd.add("serve");
        cmd.addAll(props);
        cmd.add("--server.port=" + port);
        Files.createDirectories(log.toAbsolutePath().getParent());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("ORT_DISABLE_TELEMETRY", "1");
        pb.environment().put("DJL_OFFLINE", "true");
        BenchServer s = new BenchServer(pb.start(), null, port, log);
        try {
            s.awaitReady(timeoutS);
        } catch (RuntimeException | IOException | InterruptedException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * How to start this application again: {@code java -jar glimpse.jar} when running from the Spring Boot jar, else
     * {@code java -cp <this classpath> dev.glimpse.GlimpseApplication}.
     */
    static List<String> javaCommand() {
        String javaBin = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String cp = System.getProperty("java.class.path");
        boolean bootJar;
        try {
            Class.forName("org.springframework.boot.loader.launch.JarLauncher", false, BenchServer.class.getClassLoader());
            bootJar = cp.endsWith(".jar") && !cp.contains(java.io.File.pathSeparator);
        } catch (ClassNotFoundException e) {
            bootJar = false;
        }
        return bootJar ? List.of(javaBin, "-jar", cp) : List.of(javaBin, "-cp", cp, GlimpseApplication.class.getName());
    }

    private void awaitReady(int timeoutS) throws IOException, InterruptedException {
        HttpClient c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeoutS * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (process != null && !process.isAlive()) {
                throw new IllegalStateException("the server exited with " + process.exitValue() + "; log " + log + ":\n" + logTail());
            }
            try {
                HttpResponse<String> r = c.send(HttpRequest.newBuilder(uri("/actuator/health/readiness")).timeout(Duration.ofSeconds(5))
                        .GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return;
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the server was not ready within " + timeoutS + " s" + (log == null ? "" : "; log " + log + ":\n" + logTail()));
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** Whose /proc entry holds the server's memory: the child, or this JVM. */
    String procStatus() {
        return process != null ? "/proc/" + process.pid() + "/status" : "/proc/self/status";
    }

    /** /proc/PID of the server (this JVM in-process). */
    String procDir() {
        return process != null ? "/proc/" + process.pid() : "/proc/self";
    }

    boolean inProcess() {
        return process == null;
    }

    @Override
    public void close() {
        if (context != null) context.close();
        if (process != null && process.isAlive()) {
            process.destroy(); // SIGTERM: Spring's graceful shutdown
            try {
                if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
