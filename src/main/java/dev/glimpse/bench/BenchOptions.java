package dev.glimpse.bench;

import dev.glimpse.cli.CommandLineOptions;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Options of {@code glimpse bench}. Every measurement is a median over {@code runs}.
 *
 * @param model           card name under modelDir
 * @param outDir          generated images, prompts, server log and inputs.json (read by the Python references)
 * @param json            where to write the report as JSON (null: not written)
 * @param only            measurements to run (all when empty): see {@link #MEASUREMENTS}
 * @param maxTokens       tokens each decode / HTTP request generates (stop tokens are ignored, so exactly this many)
 * @param clients         concurrent HTTP clients of the load phase (compared against 1 client)
 * @param requestsPerClient requests each client sends back to back per load phase
 * @param threads         ONNX Runtime intra-op threads (0: ONNX Runtime's default, all cores); also the PyTorch thread count
 * @param server          child (a separate JVM running this jar) or inprocess (SpringApplication in this JVM)
 * @param contexts        prompt lengths of the decode-cost-vs-context sweep
 * @param contextDecodeTokens decode steps timed at each context length
 * @param imageW          width of the chat benchmarks' prompt image (JPEG)
 * @param preImages       JPEGs in the preprocessing set
 * @param resizeLimit     second preprocessing variant: this in_token_limit forces the bicubic resize of every image
 * @param phaseTimeoutS   hard bound on one HTTP phase, seconds
 * @param serverJvmArgs   extra JVM options of a child server (e.g. -XX:StartFlightRecording=...)
 */
record BenchOptions(String model, Path modelDir, Path dataDir, Path outDir, Path json, int runs, Set<String> only,
                    int maxTokens, int clients, int requestsPerClient, int threads, String server, int[] contexts,
                    int contextDecodeTokens, int imageW, int imageH, int preImages, int preW, int preH, int resizeLimit,
                    int phaseTimeoutS, List<String> serverJvmArgs) {

    static final List<String> MEASUREMENTS = List.of("preprocess", "decode", "context", "batch", "ttft", "throughput", "jobs");

    static final String USAGE = """
            usage: java -jar glimpse.jar bench [options]
              --model NAME            model card (default tiny-kimi-vl)
              --model-dir DIR         where model cards live (default model-cards)
              --data-dir DIR          converted-graph cache (default data)
              --out-dir DIR           generated images, inputs.json for bench/*.py, server log (default data/bench)
              --json FILE             also write the report as JSON
              --runs N                runs per measurement; figures are medians (default 5)
              --only A,B              subset of: preprocess, decode, context, batch, ttft, throughput (memory = throughput),
                                      jobs (caption-job throughput vs the engine's best; --pre-images images of --image size)
              --max-tokens N          tokens per decode / HTTP request, stop tokens ignored (default 64)
              --clients N             concurrent streaming clients of the load phase (default 16)
              --requests N            requests per client per load phase (default 3)
              --threads N             ONNX Runtime intra-op threads, 0 = all cores (default 0)
              --server child|inprocess  how the HTTP server runs (default child: a second JVM from this jar)
              --contexts 64,128,...   prompt lengths for decode cost vs context (default 64,128,256,512,1024)
              --context-tokens N      decode steps timed per context length (default 32)
              --image WxH             prompt image of the decode / HTTP benchmarks (default 640x480)
              --pre-images N          JPEGs in the preprocessing set (default 32)
              --pre-size WxH          their size (default 1024x768)
              --resize-limit N        token limit of the preprocessing-with-resize variant (default 1024)
              --phase-timeout S       hard bound on one HTTP phase in seconds (default 120)
              --server-jvm-args "..." JVM options for the child server, space-separated (e.g. a JFR recording)
            """;

    static BenchOptions parse(String[] args) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("--model", "tiny-kimi-vl");
        o.put("--model-dir", "model-cards");
        o.put("--data-dir", "data");
        o.put("--out-dir", "data/bench");
        o.put("--json", "");
        o.put("--runs", "5");
        o.put("--only", "");
        o.put("--max-tokens", "64");
        o.put("--clients", "16");
        o.put("--requests", "3");
        o.put("--threads", "0");
        o.put("--server", "child");
        o.put("--contexts", "64,128,256,512,1024");
        o.put("--context-tokens", "32");
        o.put("--image", "640x480");
        o.put("--pre-images", "32");
        o.put("--pre-size", "1024x768");
        o.put("--resize-limit", "1024");
        o.put("--phase-timeout", "120");
        o.put("--server-jvm-args", "");
        return from(CommandLineOptions.parse(args, o, Set.of()));
    }

    private static BenchOptions from(CommandLineOptions o) {
        Set<String> only = new LinkedHashSet<>();
        for (String s : o.get("--only").split(",")) {
            s = s.trim();
            if (s.isEmpty()) continue;
            if (s.equals("memory")) s = "throughput";
            if (!MEASUREMENTS.contains(s)) throw new IllegalArgumentException("--only: unknown measurement '" + s + "'; valid: " + MEASUREMENTS);
            only.add(s);
        }
        String server = o.get("--server");
        if (!server.equals("child") && !server.equals("inprocess")) throw new IllegalArgumentException("--server must be child or inprocess");
        int[] contexts = Arrays.stream(o.get("--contexts").split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        int[] image = size(o.get("--image"));
        int[] pre = size(o.get("--pre-size"));
        String json = o.get("--json");
        BenchOptions b = new BenchOptions(o.get("--model"), Path.of(o.get("--model-dir")), Path.of(o.get("--data-dir")),
                Path.of(o.get("--out-dir")), json.isEmpty() ? null : Path.of(json), o.positiveInt("--runs"), only,
                o.positiveInt("--max-tokens"), o.positiveInt("--clients"), o.positiveInt("--requests"), o.integer("--threads"),
                server, contexts, o.positiveInt("--context-tokens"), image[0], image[1], o.positiveInt("--pre-images"), pre[0],
                pre[1], o.positiveInt("--resize-limit"), o.positiveInt("--phase-timeout"),
                Arrays.stream(o.get("--server-jvm-args").trim().split("\\s+")).filter(a -> !a.isEmpty()).toList());
        if (b.maxTokens < 2) throw new IllegalArgumentException("--max-tokens must be >= 2 (decode time excludes the first token)");
        return b;
    }

    boolean wants(String measurement) {
        return only.isEmpty() || only.contains(measurement);
    }

    List<String> selected() {
        List<String> l = new ArrayList<>();
        for (String m : MEASUREMENTS) if (wants(m)) l.add(m);
        return l;
    }

    private static int[] size(String s) {
        String[] p = s.toLowerCase().split("x");
        if (p.length != 2) throw new IllegalArgumentException("size must be WxH, got " + s);
        return new int[]{Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    }
}
