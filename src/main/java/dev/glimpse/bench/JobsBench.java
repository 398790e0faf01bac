package dev.glimpse.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import dev.glimpse.card.ModelCard;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.jobs.CaptionKind;
import dev.glimpse.jobs.Captioner;
import dev.glimpse.jobs.FileStore;
import dev.glimpse.jobs.Job;
import dev.glimpse.jobs.JobKind;
import dev.glimpse.jobs.JobRunner;
import dev.glimpse.jobs.JobStore;
import dev.glimpse.runtime.OrtRuntime;
import org.flywaydb.core.Flyway;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

/**
 * Caption-job throughput against the engine's best on the same model and images (issue target: a job reaches >= 0.8x).
 * "Engine best": the images go straight to the engine through {@link Captioner}, {@code window} at a time, no database;
 * the best of several windows is taken. "Job": a caption job through {@link JobRunner} with the real store (an H2 file
 * with WRITE_DELAY=0, as served), timed from creating the job to its completion (listing the folder and every commit
 * included). Each run uses fresh images for both sides (no vision-cache hits) and the sides alternate, so load drift hits
 * both alike.
 */
final class JobsBench {

    record Result(double[] engineBest, double[] job, int window) {}

    private final ServedModel served;
    private final ExecutorService prepare;
    private final Captioner captioner;
    private final Path work;
    private final Consumer<String> log;

    JobsBench(ModelCard card, OrtRuntime runtime, Path graphs, Path work, Consumer<String> log) {
        this.served = ServedModel.standalone(card, dev.glimpse.family.Families::load, runtime, graphs);
        this.prepare = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "bench-job-prepare");
            t.setDaemon(true);
            return t;
        });
        this.captioner = new Captioner(served, prepare, 64L << 20);
        this.work = work;
        this.log = log;
    }

    Result run(int images, int w, int h, int maxTokens, int runs, int[] windows) throws Exception {
        // Warm-up (graph load, first allocations) on its own images.
        direct(images(-1, Math.min(images, 8), w, h), maxTokens, windows[0]);
        // The engine's best window, chosen once on fresh images.
        int best = windows[0];
        double bestRate = 0;
        for (int win : windows) {
            double rate = direct(images(-2 - win, images, w, h), maxTokens, win);
            log.accept(String.format("engine, window %d: %.1f img/s", win, rate));
            if (rate > bestRate) {
                bestRate = rate;
                best = win;
            }
        }
        double[] engine = new double[runs];
        double[] job = new double[runs];
        for (int r = 0; r < runs; r++) {
            engine[r] = direct(images(2 * r, images, w, h), maxTokens, best);
            job[r] = job(images(2 * r + 1, images, w, h), maxTokens, best, r);
            log.accept(String.format("run %d: engine %.1f img/s, job %.1f img/s (%.2fx)", r + 1, engine[r], job[r], job[r] / engine[r]));
        }
        return new Result(engine, job, best);
    }

    private Path images(int set, int n, int w, int h) throws Exception {
        Path dir = work.resolve("set" + set);
        Files.createDirectories(dir);
        for (int i = 0; i < n; i++) {
            Path f = dir.resolve(String.format("img%04d.jpg", i));
            if (!Files.exists(f)) Files.write(f, SyntheticImages.jpeg(w, h, 1_000_003L * (set + 10) + i));
        }
        return dir;
    }

    /** Images per second with {@code window} captions in flight, straight into the engine. */
    private double direct(Path dir, int maxTokens, int window) throws Exception {
        List<String> files = Captioner.listFiles(dir);
        Semaphore slots = new Semaphore(window);
        List<CompletableFuture<JobKind.Outcome>> all = new ArrayList<>();
        long t0 = System.nanoTime();
        for (String f : files) {
            slots.acquire();
            CompletableFuture<JobKind.Outcome> c = captioner.caption(dir, f, "Describe the image.", maxTokens, () -> false);
            c.whenComplete((o, e) -> slots.release());
            all.add(c);
        }
        for (CompletableFuture<JobKind.Outcome> c : all) {
            if (!c.join().ok()) throw new IllegalStateException("caption failed: " + c.join().result());
        }
        return files.size() / ((System.nanoTime() - t0) / 1e9);
    }

    /** Images per second of a caption job over {@code dir}, from creation to completion, on a fresh H2 store. */
    private double job(Path dir, int maxTokens, int window, int run) throws Exception {
        Path db = work.resolve("db-" + run + "-" + System.nanoTime());
        try (HikariDataSource ds = new HikariDataSource()) {
            ds.setJdbcUrl("jdbc:h2:file:" + db.toAbsolutePath().resolve("glimpse") + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE");
            ds.setUsername("sa");
            ds.setPassword("");
            Flyway.configure().dataSource(ds).load().migrate();
            JobStore store = new JobStore(new JdbcTemplate(ds), new TransactionTemplate(new DataSourceTransactionManager(ds)));
            ObjectMapper json = new ObjectMapper();
            CaptionKind kind = new CaptionKind(captioner, new FileStore(db.resolve("files")), db.resolve("jobs"), json, 1L << 30, 100_000);
            String spec = json.createObjectNode().<com.fasterxml.jackson.databind.node.ObjectNode>set("source",
                    json.createObjectNode().put("type", "folder").put("path", dir.toAbsolutePath().toString()))
                    .put("prompt", "Describe the image.").put("max_tokens", maxTokens).toString();
            try (JobRunner runner = new JobRunner(store, List.of(kind), window, Clock.systemUTC(), "bench")) {
                runner.start();
                long t0 = System.nanoTime();
                store.insertJob(Job.create("capjob_bench" + run, Job.CAPTION, served.card().name(), spec, System.currentTimeMillis() / 1000));
                runner.wake();
                while (true) {
                    Job j = store.job("capjob_bench" + run).orElseThrow();
                    if (j.finished()) {
                        if (!j.status().equals("completed") || j.failed() > 0) throw new IllegalStateException("job ended " + j);
                        return j.total() / ((System.nanoTime() - t0) / 1e9);
                    }
                    Thread.sleep(5);
                }
            }
        }
    }

    void close() throws Exception {
        served.close();
        prepare.shutdownNow();
    }
}
