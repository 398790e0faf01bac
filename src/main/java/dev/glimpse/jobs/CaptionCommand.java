package dev.glimpse.jobs;

import dev.glimpse.api.ChatService;
import dev.glimpse.card.ModelCard;
import dev.glimpse.cli.CommandLineOptions;
import dev.glimpse.card.ModelCardLoader;
import dev.glimpse.engine.EngineConfig;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.runtime.OrtRuntime;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code java -jar glimpse.jar caption --input DIR --output FILE}: captions every file below a folder with a model run in
 * this process (no HTTP server, no database), writing one JSON line per file ({@code {"path", "caption", "tokens",
 * "error"}}, as caption jobs do) as soon as it is finished, in completion order. Up to --concurrency images are in the
 * engine at once, so continuous batching keeps it full; an image the engine refuses (queue full) is retried after a short
 * pause. Run again with the same output, it resumes: files already in the output (captioned or failed) are skipped.
 */
public final class CaptionCommand {

    static final String USAGE = """
            usage: java -jar glimpse.jar caption --input DIR --output FILE [options]
              --input DIR         folder of images; every file below it (hidden ones skipped) is captioned
              --output FILE       JSON lines {"path","caption","tokens","error"}; if it exists, the run resumes
              --prompt TEXT       instruction sent with each image (default "Describe the image.")
              --max-tokens N      longest caption in tokens (default 64)
              --model NAME        model card (default tiny-kimi-vl)
              --model-dir DIR     where model cards live (default model-cards)
              --data-dir DIR      converted-graph cache under DIR/graphs (default data)
              --concurrency N     images in the engine at once (default 32)
            """;

    /** Pause before an image refused with 429 (engine queue full) is submitted again. */
    static final long RETRY_BACKOFF_MS = 200;

    record Options(Path input, Path output, String prompt, int maxTokens, String model, Path modelDir, Path dataDir,
                   int concurrency) {

        static Options parse(String[] args) {
            Map<String, String> declared = new LinkedHashMap<>();
            declared.put("--input", null);
            declared.put("--output", null);
            declared.put("--prompt", "Describe the image.");
            declared.put("--max-tokens", "64");
            declared.put("--model", "tiny-kimi-vl");
            declared.put("--model-dir", "model-cards");
            declared.put("--data-dir", "data");
            declared.put("--concurrency", "32");
            CommandLineOptions o = CommandLineOptions.parse(args, declared, Set.of());
            Path input = Path.of(o.required("--input"));
            Path output = Path.of(o.required("--output"));
            if (o.get("--prompt").isBlank()) throw new IllegalArgumentException("--prompt must not be empty");
            return new Options(input, output, o.get("--prompt"), o.positiveInt("--max-tokens"), o.get("--model"),
                    Path.of(o.get("--model-dir")), Path.of(o.get("--data-dir")), o.positiveInt("--concurrency"));
        }
    }

    private record Done(String path, JobKind.Outcome outcome, Throwable error) {}

    private final Options opt;
    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal;
    /** Set by Ctrl-C (the shutdown hook): stop submitting, report, let the JVM exit. */
    private final AtomicBoolean interrupted = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);

    private CaptionCommand(Options opt, PrintStream out, PrintStream err, boolean terminal) {
        this.opt = opt;
        this.out = out;
        this.err = err;
        this.terminal = terminal;
    }

    /** Entry point of the subcommand; returns the exit status (0 done, 1 failed, 2 usage, 130 interrupted). */
    public static int main(String[] args, PrintStream out, PrintStream err) {
        Options opt;
        try {
            opt = Options.parse(args);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().isEmpty()) err.println("caption: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
        if (!Files.isDirectory(opt.input())) {
            err.println("caption: input folder " + opt.input() + (Files.exists(opt.input()) ? " is not a folder" : " does not exist"));
            return 2;
        }
        CaptionCommand cmd = new CaptionCommand(opt, out, err, System.console() != null && err == System.err);
        Thread hook = new Thread(() -> {
            cmd.interrupted.set(true);
            try {
                cmd.stopped.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "glimpse-caption-interrupt");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return cmd.run();
        } catch (Exception e) {
            err.println();
            err.println("caption failed: " + e);
            if (!(e instanceof IOException)) e.printStackTrace(err);
            return 1;
        } finally {
            cmd.stopped.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it only waits for `stopped`
            }
        }
    }

    private int run() throws Exception {
        Path input = opt.input().toRealPath();
        List<String> files = new ArrayList<>(Captioner.listFiles(input));
        // An output written inside the input folder is not an image to caption.
        Path outAbs = opt.output().toAbsolutePath().normalize();
        Path outParent = outAbs.getParent();
        if (outParent != null && Files.isDirectory(outParent)) {
            Path outReal = outParent.toRealPath().resolve(outAbs.getFileName());
            if (outReal.startsWith(input)) files.remove(input.relativize(outReal).toString().replace(outReal.getFileSystem().getSeparator(), "/"));
        }
        try (CaptionOutput output = CaptionOutput.open(opt.output())) {
            if (output.droppedBytes() > 0) {
                err.printf("caption: cut off a partial last line (%d bytes) of %s; its image is captioned again%n",
                        output.droppedBytes(), opt.output());
            }
            Deque<String> todo = new ArrayDeque<>();
            for (String f : files) if (!output.paths().contains(f)) todo.add(f);
            int resumed = files.size() - todo.size();
            if (resumed > 0) err.printf("caption: resuming: %d of %d files already in %s%n", resumed, files.size(), opt.output());
            if (todo.isEmpty()) {
                out.printf("caption: nothing to do: %s%n", files.isEmpty()
                        ? opt.input() + " holds no files" : "all " + files.size() + " files are already in " + opt.output());
                return 0;
            }
            return caption(files.size(), resumed, todo, input, output);
        }
    }

    private int caption(int total, int resumed, Deque<String> todo, Path input, CaptionOutput output) throws Exception {
        ModelCard card = ModelCardLoader.load(opt.modelDir().resolve(opt.model()));
        err.printf("caption: %d files to caption in %s with %s (max %d tokens, %d at once)%n",
                todo.size(), opt.input(), card.name(), opt.maxTokens(), opt.concurrency());
        AtomicInteger n = new AtomicInteger();
        ExecutorService prepare = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "glimpse-caption-prepare-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        AtomicBoolean cancelled = new AtomicBoolean();
        CaptionProgress progress;
        try (ServedModel served = ServedModel.standalone(card, dev.glimpse.family.Families::load, new OrtRuntime("cpu", 0), opt.dataDir().resolve("graphs"))) {
            Captioner captioner = new Captioner(served, prepare, ImageLimits.DEFAULT.maxBytes());
            // More than the engine holds (running + queued) would only be refused with 429 and prepared again.
            EngineConfig ec = served.engine().config();
            int window = Math.min(opt.concurrency(), ec.maxNumSeqs() + ec.queueCapacity());
            if (window < opt.concurrency()) {
                err.printf("caption: --concurrency %d is more than the engine holds (%d running + %d queued); using %d%n",
                        opt.concurrency(), ec.maxNumSeqs(), ec.queueCapacity(), window);
            }
            BlockingQueue<Done> done = new LinkedBlockingQueue<>();
            progress = new CaptionProgress(err, terminal, total, resumed);
            int inFlight = 0;
            long retryAt = 0;
            try {
                while ((!todo.isEmpty() || inFlight > 0) && !interrupted.get()) {
                    while (inFlight < window && !todo.isEmpty() && System.currentTimeMillis() >= retryAt) {
                        String rel = todo.pollFirst();
                        inFlight++;
                        try {
                            captioner.caption(input, rel, opt.prompt(), opt.maxTokens(), cancelled::get)
                                    .whenComplete((o, e) -> done.add(new Done(rel, o, e)));
                        } catch (RuntimeException e) {
                            done.add(new Done(rel, null, e));
                        }
                    }
                    for (Done d = done.poll(50, TimeUnit.MILLISECONDS); d != null; d = done.poll()) {
                        inFlight--;
                        JobKind.Outcome o = d.outcome();
                        if (d.error() != null) {
                            GlimpseException g = ChatService.unwrap(d.error());
                            if (g.status() == 429) {
                                todo.addFirst(d.path());   // the engine is full: the image waits, it has not failed
                                retryAt = System.currentTimeMillis() + RETRY_BACKOFF_MS;
                                continue;
                            }
                            o = captioner.failure(d.path(), g);
                        }
                        if (o == JobKind.Outcome.INTERRUPTED) continue;   // cut short by a stop: captioned again on resume
                        output.append(o.result());
                        progress.finished(o.ok());
                    }
                    progress.tick();
                }
            } finally {
                cancelled.set(true);   // whatever is still in the engine is no longer wanted
            }
            progress.end();
            if (interrupted.get()) {
                err.printf("caption: interrupted after %d images (%d in flight dropped); run the same command again to resume%n",
                        progress.done(), inFlight);
                return 130;
            }
        } finally {
            prepare.shutdownNow();
        }
        out.printf(Locale.ROOT, "caption: %d images captioned, %d failed%s in %.1f s, %.1f img/s -> %s%n",
                progress.done() - progress.failed(), progress.failed(),
                resumed > 0 ? " (+" + resumed + " from an earlier run)" : "", progress.seconds(), progress.rate(), opt.output());
        return 0;
    }
}
