package dev.glimpse.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Streaming clients against {@link BenchServer} with java.net.http.HttpClient (HTTP/1.1, one connection per client):
 * time to first token, aggregate generated tokens/s under concurrency, and the server's memory and KV cache under load.
 */
final class HttpBench {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final BenchServer server;
    private final String model;
    private final HttpClient client;

    HttpBench(BenchServer server, String model) {
        this.server = server;
        this.model = model;
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A streaming chat request with one JPEG and the bench prompt; usage is requested so tokens can be counted. */
    String body(byte[] jpeg, int maxTokens) {
        ObjectNode root = JSON.createObjectNode().put("model", model).put("stream", true).put("max_tokens", maxTokens)
                .put("temperature", 0);
        root.putObject("stream_options").put("include_usage", true);
        ArrayNode content = root.putArray("messages").addObject().put("role", "user").putArray("content");
        content.addObject().put("type", "image_url").putObject("image_url")
                .put("url", "data:image/jpeg;base64," + Base64.getEncoder().encodeToString(jpeg));
        content.addObject().put("type", "text").put("text", EngineBench.PROMPT_TEXT);
        return root.toString();
    }

    /**
     * @param firstTokenNanos from sending the request to the first server-sent event after the role chunk: the first
     *                        token's text, or the finish chunk when that token has no text (a special token)
     */
    record Stream(long firstTokenNanos, long totalNanos, int completionTokens) {}

    Stream stream(String body) throws IOException, InterruptedException {
        return stream(body, null);
    }

    /** @param onFirstToken run (on this thread) when the first token arrives, while the sequence is still decoding */
    Stream stream(String body, Runnable onFirstToken) throws IOException, InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(server.uri("/v1/chat/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long t0 = System.nanoTime();
        HttpResponse<InputStream> resp = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
        long first = 0;
        int tokens = -1;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
            if (resp.statusCode() != 200) {
                StringBuilder sb = new StringBuilder();
                for (String l; (l = in.readLine()) != null; ) sb.append(l);
                throw new IOException("HTTP " + resp.statusCode() + ": " + sb);
            }
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.startsWith("data: ")) continue;
                String data = line.substring(6);
                if (data.equals("[DONE]")) break;
                JsonNode ev = JSON.readTree(data);
                if (ev.has("error")) throw new IOException("stream error: " + ev.get("error"));
                if (ev.has("usage") && ev.get("usage").isObject()) tokens = ev.get("usage").get("completion_tokens").asInt();
                JsonNode choice = ev.path("choices").path(0);
                if (first == 0 && !choice.isMissingNode()) {
                    boolean text = !choice.path("delta").path("content").asText("").isEmpty();
                    boolean finish = !choice.path("finish_reason").isNull() && !choice.path("finish_reason").isMissingNode();
                    if (text || finish) {
                        first = System.nanoTime() - t0;
                        if (onFirstToken != null) onFirstToken.run();
                    }
                }
            }
        }
        if (tokens < 0) throw new IOException("the stream ended without a usage chunk");
        return new Stream(first, System.nanoTime() - t0, tokens);
    }

    /** One closed-loop load phase: {@code clients} threads each send {@code requests} requests back to back. */
    record Phase(int clients, int requests, long tokens, double seconds) {
        double tokensPerSecond() {
            return tokens / seconds;
        }
    }

    /**
     * Memory and KV cache seen while a phase ran: RSS sampled every 50 ms, the Prometheus gauges every 50 ms for the first
     * second (short phases) and every 250 ms after that.
     */
    static final class Sampler implements Runnable {
        final AtomicLong maxRssKb = new AtomicLong();
        final AtomicLong maxKvBytes = new AtomicLong();
        final AtomicLong maxKvReserved = new AtomicLong();
        private final HttpBench bench;
        private volatile boolean running = true;

        Sampler(HttpBench bench) {
            this.bench = bench;
        }

        @Override
        public void run() {
            for (int i = 0; running; i++) {
                try {
                    maxRssKb.accumulateAndGet(bench.procKb("VmRSS"), Math::max);
                    if (i < 20 || i % 5 == 0) sampleKv(); // a scrape costs the server CPU: every 250 ms after the first second
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                } catch (IOException | RuntimeException e) {
                    // a missed sample is fine
                }
            }
        }

        /** One scrape of the KV gauges; also called by a client on its first token, so even a short phase is seen. */
        void sampleKv() throws IOException, InterruptedException {
            double[] kv = bench.kvGauges();
            maxKvBytes.accumulateAndGet((long) kv[0], Math::max);
            maxKvReserved.accumulateAndGet((long) kv[1], Math::max);
        }

        Runnable sampleKvQuietly() {
            return () -> {
                try {
                    sampleKv();
                } catch (IOException | RuntimeException e) {
                    // a missed sample is fine
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
        }

        void stop() {
            running = false;
        }
    }

    Phase phase(int clients, int requests, String body, int timeoutS) throws Exception {
        return phase(clients, requests, body, timeoutS, null);
    }

    /** @param sampler when given, client 0 also scrapes the KV gauges on the first token of its first request */
    Phase phase(int clients, int requests, String body, int timeoutS, Sampler sampler) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients, r -> {
            Thread t = new Thread(r, "bench-client");
            t.setDaemon(true);
            return t;
        });
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Long>> futures = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            Runnable probe = c == 0 && sampler != null ? sampler.sampleKvQuietly() : null;
            futures.add(pool.submit(() -> {
                go.await();
                long tokens = 0;
                for (int i = 0; i < requests; i++) tokens += stream(body, i == 0 ? probe : null).completionTokens();
                return tokens;
            }));
        }
        long t0 = System.nanoTime();
        go.countDown();
        pool.shutdown();
        if (!pool.awaitTermination(timeoutS, TimeUnit.SECONDS)) {
            pool.shutdownNow();
            throw new IllegalStateException(clients + " clients x " + requests + " requests did not finish within " + timeoutS + " s");
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long tokens = 0;
        for (Future<Long> f : futures) tokens += f.get();
        return new Phase(clients, requests, tokens, seconds);
    }

    CpuAccounting cpu() {
        return new CpuAccounting(server.procDir());
    }

    boolean serverInProcess() {
        return server.inProcess();
    }

    /** A /proc/PID/status field in kB (VmRSS, VmHWM) of the server. */
    long procKb(String field) throws IOException {
        for (String l : Files.readAllLines(Path.of(server.procStatus()))) {
            if (l.startsWith(field + ":")) return Long.parseLong(l.substring(field.length() + 1).trim().split("\\s+")[0]);
        }
        throw new IOException(field + " not in " + server.procStatus());
    }

    /**
     * Resets the peak-RSS mark of this JVM (in-process mode) so VmHWM covers the load alone (Linux: writing 5 to
     * clear_refs); a child server has nothing but start-up before the load, so its mark is kept.
     */
    void resetPeak() {
        if (!server.inProcess()) return;
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException e) {
            // not Linux or not allowed: VmHWM then covers the whole bench process
        }
    }

    /** [glimpse_kv_cache_bytes, glimpse_kv_cache_reserved_bytes] from /actuator/prometheus. */
    double[] kvGauges() throws IOException, InterruptedException {
        String text = prometheus();
        return new double[]{metric(text, "glimpse_kv_cache_bytes"), metric(text, "glimpse_kv_cache_reserved_bytes")};
    }

    String prometheus() throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(server.uri("/actuator/prometheus")).timeout(Duration.ofSeconds(5)).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** The sum over all label sets of one metric in a Prometheus text exposition. */
    static double metric(String text, String name) {
        double sum = 0;
        for (String l : text.split("\n")) {
            if (l.startsWith(name + "{") || l.startsWith(name + " ")) sum += Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
        }
        return sum;
    }
}
