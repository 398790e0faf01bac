package dev.glimpse.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.card.ModelCard;
import dev.glimpse.card.ModelCardLoader;
import dev.glimpse.convert.SafeTensors;
import dev.glimpse.image.KimiVlPreprocessor;
import dev.glimpse.image.KimiVlPreprocessorConfig;
import dev.glimpse.runtime.OrtRuntime;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code java -jar glimpse.jar bench}: speed figures of the serving stack on this machine, each a median over --runs.
 * See BENCHMARKS.md for what each figure means; bench/run.sh pairs them with the PyTorch and Pillow references.
 */
public final class BenchCommand {

    private final BenchOptions opt;
    private final PrintStream out;
    private final PrintStream progress;
    private final BenchReport report = new BenchReport();

    private BenchCommand(BenchOptions opt, PrintStream out, PrintStream progress) {
        this.opt = opt;
        this.out = out;
        this.progress = progress;
    }

    /** Entry point of the subcommand; returns the exit status. */
    public static int main(String[] args, PrintStream out, PrintStream err) {
        BenchOptions opt;
        try {
            opt = BenchOptions.parse(args);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().isEmpty()) err.println("bench: " + e.getMessage());
            err.print(BenchOptions.USAGE);
            return 2;
        }
        try {
            new BenchCommand(opt, out, err).run();
            return 0;
        } catch (Exception e) {
            err.println("bench failed: " + e);
            e.printStackTrace(err);
            return 1;
        }
    }

    /** Runs the selected measurements and returns the report (also printed, and written as JSON with --json). */
    static ObjectNode runForTest(String[] args, PrintStream out) throws Exception {
        BenchCommand b = new BenchCommand(BenchOptions.parse(args), out, out);
        b.run();
        return b.reportJson();
    }

    private ObjectNode reportJson() {
        return report.results().deepCopy();
    }

    private void log(String fmt, Object... args) {
        progress.printf("bench: " + fmt + "%n", args);
        progress.flush();
    }

    private void run() throws Exception {
        Path cardDir = opt.modelDir().resolve(opt.model());
        ModelCard card = ModelCardLoader.load(cardDir);
        int cores = Runtime.getRuntime().availableProcessors();
        int threads = opt.threads() > 0 ? opt.threads() : cores;
        OrtRuntime runtime = new OrtRuntime("cpu", opt.threads());
        Files.createDirectories(opt.outDir());
        machineInfo(card, runtime, cores, threads);

        byte[] promptJpeg = SyntheticImages.jpeg(opt.imageW(), opt.imageH(), 1);
        Path promptFile = opt.outDir().resolve("prompt.jpg");
        Files.write(promptFile, promptJpeg);
        ObjectNode inputs = BenchReport.JSON.createObjectNode();
        inputs.put("checkpoint", card.checkpoint().toAbsolutePath().toString()).put("threads", threads)
                .put("max_tokens", opt.maxTokens()).put("runs", opt.runs()).put("prompt_image", promptFile.toAbsolutePath().toString())
                .put("image_token_limit", servedTokenLimit(card));

        if (opt.wants("preprocess")) preprocess(card, cores, inputs);
        if (opt.wants("decode") || opt.wants("context") || opt.wants("batch")) engine(card, runtime, promptJpeg, inputs);
        if (opt.wants("ttft") || opt.wants("throughput")) http(card, cardDir, threads, promptJpeg);
        if (opt.wants("jobs")) jobs(card, runtime);

        report.machine().put("loadavg_after", loadavg());
        if (opt.wants("preprocess") || opt.wants("decode")) {
            BenchReport.JSON.writeValue(opt.outDir().resolve("inputs.json").toFile(), inputs); // for bench/*.py
        }
        out.println();
        report.print(out);
        if (opt.json() != null) {
            report.writeJson(opt.json());
            log("wrote %s", opt.json());
        }
    }

    /** Caption-job throughput vs the engine's best on the same images (see {@link JobsBench}). */
    private void jobs(ModelCard card, OrtRuntime runtime) throws Exception {
        int n = opt.preImages();
        log("caption jobs: %d %dx%d JPEGs per run, %d tokens each, %d runs", n, opt.imageW(), opt.imageH(), opt.maxTokens(), opt.runs());
        JobsBench jb = new JobsBench(card, runtime, opt.dataDir().resolve("graphs"), opt.outDir().resolve("jobs"), m -> log("%s", m));
        try {
            JobsBench.Result r = jb.run(n, opt.imageW(), opt.imageH(), opt.maxTokens(), opt.runs(), new int[] {16, 32, 64});
            double engine = Stats.median(r.engineBest());
            double job = Stats.median(r.job());
            report.section("caption jobs: " + n + " JPEGs " + opt.imageW() + "x" + opt.imageH() + " per run, " + opt.maxTokens()
                    + " tokens each, fresh images every run");
            report.add("engine_best_images_per_s", "engine best (straight into the engine, window " + r.window() + ")", engine,
                    "img/s", "median over runs", r.engineBest());
            report.add("caption_job_images_per_s", "caption job (runner + H2 store, created -> completed)", job, "img/s",
                    "median over runs", r.job());
            double[] ratios = new double[r.job().length];
            for (int i = 0; i < ratios.length; i++) ratios[i] = r.job()[i] / r.engineBest()[i];
            report.add("caption_job_vs_engine", "caption job / engine best", job / engine, "x", "target >= 0.8", ratios);
        } finally {
            jb.close();
        }
    }

    private void machineInfo(ModelCard card, OrtRuntime runtime, int cores, int threads) {
        ObjectNode m = report.machine();
        m.put("cores", cores).put("cpu", cpuModel()).put("java", System.getProperty("java.vm.name") + " " + Runtime.version())
                .put("onnxruntime", runtime.env().getVersion()).put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"))
                .put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).put("loadavg_before", loadavg());
        long params = 0;
        for (SafeTensors.Entry e : SafeTensors.openDirectory(card.checkpoint()).entries().values()) params += e.elementCount();
        m.put("parameters", params);
        ObjectNode c = report.config();
        c.put("model", card.name()).put("checkpoint", card.checkpoint().toString()).put("runs", opt.runs())
                .put("threads", threads).put("ort_intra_op_threads_option", opt.threads()).put("max_tokens", opt.maxTokens())
                .put("clients", opt.clients()).put("requests_per_client", opt.requestsPerClient()).put("server", opt.server())
                .put("prompt_image", opt.imageW() + "x" + opt.imageH()).put("preprocess_images", opt.preImages() + " x " + opt.preW() + "x" + opt.preH())
                .put("measurements", String.join(",", opt.selected()));
    }

    static String cpuModel() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) return l.substring(l.indexOf(':') + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    static String loadavg() {
        try {
            String[] p = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return p[0] + " " + p[1] + " " + p[2];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    /** The image token limit the server applies: the checkpoint's in_token_limit, capped by the card. */
    static int servedTokenLimit(ModelCard card) {
        KimiVlPreprocessorConfig pc = KimiVlPreprocessorConfig.fromJson(card.checkpoint().resolve("preprocessor_config.json"));
        return Math.min(pc.inTokenLimit(), card.imageTokenLimit());
    }

    // (d) -------------------------------------------------------------------------------------------------------------

    private void preprocess(ModelCard card, int cores, ObjectNode inputs) throws Exception {
        log("generating %d %dx%d JPEGs", opt.preImages(), opt.preW(), opt.preH());
        Path dir = opt.outDir().resolve("images");
        Files.createDirectories(dir);
        List<byte[]> jpegs = new ArrayList<>();
        ArrayNode files = inputs.putObject("preprocess").putArray("images");
        for (int i = 0; i < opt.preImages(); i++) {
            byte[] j = SyntheticImages.jpeg(opt.preW(), opt.preH(), 100 + i);
            Path f = dir.resolve(String.format("img_%03d.jpg", i));
            Files.write(f, j);
            files.add(f.toAbsolutePath().toString());
            jpegs.add(j);
        }
        KimiVlPreprocessorConfig pc = KimiVlPreprocessorConfig.fromJson(card.checkpoint().resolve("preprocessor_config.json"));
        int servedLimit = servedTokenLimit(card);
        ((ObjectNode) inputs.get("preprocess")).put("token_limit", servedLimit).put("resize_limit", opt.resizeLimit());
        String size = opt.preW() + "x" + opt.preH();
        report.section("image preprocessing: decode + resize-to-limit + pad + normalise + patchify, " + opt.preImages() + " JPEGs " + size);
        for (int limit : new int[]{servedLimit, opt.resizeLimit()}) {
            KimiVlPreprocessor pre = new KimiVlPreprocessor(new KimiVlPreprocessorConfig(pc.patchSize(), pc.mergeKernelH(),
                    pc.mergeKernelW(), limit, pc.mean(), pc.std(), pc.padInput()));
            boolean resizes = (long) (opt.preW() / pc.patchSize()) * (opt.preH() / pc.patchSize()) > limit;
            String tag = limit == servedLimit ? "" : "_resize";
            String what = "token limit " + limit + (resizes ? " (bicubic resize)" : " (no resize needed)");
            log("preprocessing, %s", what);
            double[][] r = PreprocessBench.measure(jpegs, pre, cores, opt.runs());
            report.add("preprocess" + tag + "_single_img_s", "preprocess " + size + ", 1 thread", Stats.median(r[0]), "img/s", what, r[0]);
            report.add("preprocess" + tag + "_pool_img_s", "preprocess " + size + ", pool of " + cores, Stats.median(r[1]), "img/s", what, r[1]);
        }
    }

    // (a), (f) --------------------------------------------------------------------------------------------------------

    private void engine(ModelCard card, OrtRuntime runtime, byte[] promptJpeg, ObjectNode inputs) throws Exception {
        log("loading %s in-process", card.name());
        try (EngineBench eb = new EngineBench(card, runtime, opt.dataDir().resolve("graphs"))) {
            if (opt.wants("decode")) {
                log("decode at batch 1, %d tokens x %d runs", opt.maxTokens(), opt.runs());
                EngineBench.Decode[] d = eb.decode(promptJpeg, opt.maxTokens(), opt.runs());
                double[] tps = Arrays.stream(d).mapToDouble(EngineBench.Decode::tokensPerSecond).toArray();
                int prompt = d[0].result().promptTokens();
                report.section("decode, in-process ServedModel, greedy, stop tokens ignored");
                report.add("decode_tok_s", "decode tokens/s, batch 1", Stats.median(tps), "tok/s",
                        "prompt " + prompt + " tokens (" + opt.imageW() + "x" + opt.imageH() + " image + text), " + opt.maxTokens()
                                + " tokens, prefill excluded", tps).put("prompt_tokens", prompt);
                long[] ids = eb.imagePrompt(promptJpeg, opt.maxTokens()).promptIds();
                ArrayNode a = inputs.putArray("prompt_ids");
                for (long id : ids) a.add(id);
                inputs.put("java_text", d[0].result().text()).put("java_decode_tok_s", Stats.median(tps));
            }
            if (opt.wants("context")) {
                log("decode cost vs context %s, %d steps each", Arrays.toString(opt.contexts()), opt.contextDecodeTokens());
                double[][] ms = eb.contextSweep(opt.contexts(), opt.contextDecodeTokens(), opt.runs());
                report.section("decode step time vs context length (text prompt, batch 1, " + opt.contextDecodeTokens() + " steps)");
                for (int i = 0; i < opt.contexts().length; i++) {
                    int ctx = opt.contexts()[i];
                    report.add("decode_ms_per_token_ctx_" + ctx, "decode at context " + ctx, Stats.median(ms[i]), "ms/token",
                            null, ms[i]).put("context", ctx);
                }
            }
            if (opt.wants("batch")) {
                int ctx = opt.contexts()[opt.contexts().length / 2];
                List<Integer> bs = new ArrayList<>();
                for (int b = 1; b < opt.clients(); b *= 2) bs.add(b);
                bs.add(opt.clients());
                int[] batches = bs.stream().mapToInt(Integer::intValue).toArray();
                log("decoder step vs batch %s at context %d", bs, ctx);
                double[][] ms = EngineBench.batchSweep(card, runtime, opt.dataDir().resolve("graphs"), batches, ctx,
                        opt.contextDecodeTokens(), opt.runs(), eb.textIds(ctx));
                report.section("decoder step vs batch size (context " + ctx + ", " + opt.contextDecodeTokens()
                        + " steps, graph calls only: embed + decoder, no scheduler or sampling)");
                double base = Stats.median(ms[0]);
                for (int i = 0; i < batches.length; i++) {
                    double step = Stats.median(ms[i]);
                    report.add("decode_step_ms_batch_" + batches[i], "decoder step, batch " + batches[i], step, "ms/step",
                            String.format("%.0f tok/s, %.2fx the tokens/s of batch 1", batches[i] * 1e3 / step, batches[i] * base / step),
                            ms[i]).put("batch", batches[i]);
                }
            }
        }
    }

    // (b), (c), (e) ---------------------------------------------------------------------------------------------------

    private void http(ModelCard card, Path cardDir, int threads, byte[] promptJpeg) throws Exception {
        Path cards = opt.outDir().resolve("cards");
        writeBenchCard(cardDir, cards.resolve(card.name()), card);
        log("starting the server (%s)", opt.server());
        long t0 = System.nanoTime();
        try (BenchServer server = BenchServer.start(opt.server(), opt.serverJvmArgs(), cards, card.name(), opt.dataDir(),
                opt.threads(), opt.outDir().resolve("server.log"), 300)) {
            log("server ready in %.1f s", (System.nanoTime() - t0) / 1e9);
            HttpBench hb = new HttpBench(server, card.name());
            String promptBody = hb.body(promptJpeg, opt.maxTokens());
            hb.stream(promptBody); // warm-up; the prompt image is now in the vision cache
            if (opt.wants("ttft")) ttft(hb, promptJpeg);
            if (opt.wants("throughput")) throughput(hb, promptBody);
        }
    }

    /** A copy of the card for the server: same checkpoint (absolute path), no stop tokens. */
    private static void writeBenchCard(Path from, Path to, ModelCard card) throws IOException {
        ObjectNode c = (ObjectNode) BenchReport.JSON.readTree(from.resolve(ModelCardLoader.CARD_FILE).toFile());
        c.put("checkpoint", card.checkpoint().toAbsolutePath().toString());
        c.putArray("stop_tokens");
        Files.createDirectories(to);
        BenchReport.JSON.writeValue(to.resolve(ModelCardLoader.CARD_FILE).toFile(), c);
    }

    private void ttft(HttpBench hb, byte[] seenJpeg) throws Exception {
        log("time to first token, seen vs new image, %d runs", opt.runs());
        String seen = hb.body(seenJpeg, 1);
        for (int w = 0; w < 3; w++) { // warm the hit and the miss path
            hb.stream(seen);
            hb.stream(hb.body(SyntheticImages.jpeg(opt.imageW(), opt.imageH(), 990 + w), 1));
        }
        double[] s = new double[opt.runs()];
        double[] n = new double[opt.runs()];
        double[] se = new double[opt.runs()];
        double[] ne = new double[opt.runs()];
        for (int r = 0; r < opt.runs(); r++) {
            String fresh = hb.body(SyntheticImages.jpeg(opt.imageW(), opt.imageH(), 1000 + r), 1); // distinct pixels
            double e0 = engineTtftSeconds(hb);
            s[r] = hb.stream(seen).firstTokenNanos() / 1e6;
            double e1 = engineTtftSeconds(hb);
            n[r] = hb.stream(fresh).firstTokenNanos() / 1e6;
            se[r] = (e1 - e0) * 1e3;
            ne[r] = (engineTtftSeconds(hb) - e1) * 1e3;
        }
        String img = opt.imageW() + "x" + opt.imageH() + " JPEG";
        report.section("time to first token over HTTP (streaming, max_tokens 1, one client)");
        report.add("ttft_seen_ms", "TTFT, image seen before", Stats.median(s), "ms", img + ", vision-cache hit", s);
        report.add("ttft_new_ms", "TTFT, new image", Stats.median(n), "ms", img + ", vision encoder runs", n);
        report.add("ttft_ratio", "TTFT seen / new", Stats.median(s) / Stats.median(n), "x",
                "median of per-run ratios " + BenchReport.format(Stats.median(Stats.ratios(s, n))), Stats.ratios(s, n));
        report.add("ttft_seen_engine_ms", "  of which in the engine, seen", Stats.median(se), "ms",
                "server timer glimpse.time.to.first.token: queue + prefill + first sample", se);
        report.add("ttft_new_engine_ms", "  of which in the engine, new", Stats.median(ne), "ms",
                "same timer: queue + vision encoder + prefill + first sample", ne);
    }

    /** Sum of the server's time-to-first-token timer (arrival at the engine to first token), seconds. */
    private static double engineTtftSeconds(HttpBench hb) throws Exception {
        return HttpBench.metric(hb.prometheus(), "glimpse_time_to_first_token_seconds_sum");
    }

    private void throughput(HttpBench hb, String body) throws Exception {
        int k = opt.requestsPerClient();
        log("throughput: 1 vs %d streaming clients, %d requests each, %d runs", opt.clients(), k, opt.runs());
        // Warm-up at full batch and alone: with a single warm-up phase C2 was still compiling (~17% of a core) in the
        // measured phases.
        for (int w = 0; w < 2; w++) {
            hb.phase(opt.clients(), 1, body, opt.phaseTimeoutS());
            hb.phase(1, 2, body, opt.phaseTimeoutS());
        }
        hb.resetPeak();
        double[] one = new double[opt.runs()];
        double[] many = new double[opt.runs()];
        CpuAccounting cpu = hb.cpu();
        CpuAccounting.Totals cpuOne = new CpuAccounting.Totals();
        CpuAccounting.Totals cpuMany = new CpuAccounting.Totals();
        long tokensOne = 0, tokensMany = 0;
        for (int r = 0; r < opt.runs(); r++) {
            CpuAccounting.Snapshot a = cpu.snapshot();
            HttpBench.Phase p1 = hb.phase(1, k, body, opt.phaseTimeoutS());
            one[r] = p1.tokensPerSecond();
            tokensOne += p1.tokens();
            CpuAccounting.Snapshot b = cpu.snapshot();
            cpuOne.add(a, b);
            HttpBench.Sampler s = new HttpBench.Sampler(hb);
            Thread st = new Thread(s, "bench-sampler");
            st.setDaemon(true);
            st.start();
            try {
                HttpBench.Phase pn = hb.phase(opt.clients(), k, body, opt.phaseTimeoutS(), s);
                many[r] = pn.tokensPerSecond();
                tokensMany += pn.tokens();
            } finally {
                s.stop();
                st.join();
            }
            cpuMany.add(b, cpu.snapshot());
            peakRss = Math.max(peakRss, s.maxRssKb.get());
            peakKv = Math.max(peakKv, s.maxKvBytes.get());
            peakReserved = Math.max(peakReserved, s.maxKvReserved.get());
        }
        long hwm = hb.procKb("VmHWM");
        String per = opt.maxTokens() + " tokens per request, " + k + " requests per client";
        report.section("HTTP streaming throughput (generated tokens/s, all clients together)");
        report.add("http_1_client_tok_s", "1 client", Stats.median(one), "tok/s", per, one);
        report.add("http_" + opt.clients() + "_clients_tok_s", opt.clients() + " clients", Stats.median(many), "tok/s", per, many);
        report.add("http_ratio", opt.clients() + " clients / 1 client", Stats.median(many) / Stats.median(one), "x",
                "median of per-run ratios " + BenchReport.format(Stats.median(Stats.ratios(many, one))), Stats.ratios(many, one));
        String scope = hb.serverInProcess() ? "bench JVM (server in-process, clients included)" : "server process";
        report.add("cpu_1_client_pct", "CPU of the server, 1 client", cpuOne.processPercent(), "% core", scope + "; machine "
                + Math.round(cpuOne.machinePercent()) + "% busy (all processes)", null).putPOJO("threads", cpuOne.byThread())
                .put("machine_busy_pct", cpuOne.machinePercent());
        report.add("cpu_" + opt.clients() + "_clients_pct", "CPU of the server, " + opt.clients() + " clients", cpuMany.processPercent(),
                "% core", scope + "; machine " + Math.round(cpuMany.machinePercent()) + "% busy (all processes)", null)
                .putPOJO("threads", cpuMany.byThread()).put("machine_busy_pct", cpuMany.machinePercent());
        double effOne = tokensOne / cpuOne.processSeconds();
        double effMany = tokensMany / cpuMany.processSeconds();
        report.add("tokens_per_cpu_s_1_client", "tokens per server CPU-second, 1 client", effOne, "tok/CPU-s",
                "load-independent efficiency (all phases pooled)", null);
        report.add("tokens_per_cpu_s_" + opt.clients() + "_clients", "tokens per server CPU-second, " + opt.clients() + " clients",
                effMany, "tok/CPU-s", "ratio " + BenchReport.format(effMany / effOne) + "x", null);
        report.add("cpu_engine_thread_" + opt.clients() + "_clients_pct", "  engine thread / ORT pool / image workers",
                cpuMany.byThread().getOrDefault("glimpse-engine-", Double.NaN), "% core", "ORT pool (\"java\") "
                        + cpuMany.byThread().getOrDefault("java", 0.0) + "%, image workers " + cpuMany.byThread().getOrDefault("glimpse-image-N", 0.0)
                        + "%, HTTP " + cpuMany.byThread().entrySet().stream().filter(e -> e.getKey().startsWith("http-nio"))
                        .mapToDouble(Map.Entry::getValue).sum() + "%", null);
        String who = !hb.serverInProcess() ? "server process" : "bench JVM incl. in-process server";
        report.section("memory during the " + opt.clients() + "-client load");
        report.add("peak_rss_mib", "peak RSS (VmHWM)", hwm / 1024.0, "MiB", who, null);
        report.add("load_rss_mib", "max RSS sampled under load", peakRss / 1024.0, "MiB", who + ", every 50 ms", null);
        report.add("kv_cache_bytes_peak", "KV cache in use, max", peakKv, "bytes",
                "glimpse_kv_cache_bytes, sampled (padding included)", null);
        report.add("kv_cache_reserved_bytes_peak", "KV cache reserved, max", peakReserved, "bytes",
                "glimpse_kv_cache_reserved_bytes (prompt + max_tokens per sequence)", null);
    }

    private long peakRss, peakKv, peakReserved;
}
