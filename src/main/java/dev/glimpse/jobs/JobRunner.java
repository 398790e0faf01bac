package dev.glimpse.jobs;

import dev.glimpse.api.ChatService;
import dev.glimpse.error.GlimpseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs jobs, oldest first, one at a time, keeping up to {@code maxInFlight} of the current job's items inside the engine
 * so continuous batching has work to fill its steps with (interactive requests share the same engine queue and are
 * admitted FIFO among them).
 *
 * <p>Durability: all state is in {@link JobStore}; this class holds only what is in flight. On start it picks up every
 * unfinished job, so a job survives a kill -9: items finished before the kill keep their results (written once, in the
 * transaction that counts them); items in flight at the kill are still pending and run again. Nothing is reported to a
 * client before it is committed, so no reported result is lost and none is duplicated.
 *
 * <p>Threads: one dispatcher thread (this class) talks to the store and submits items; item work runs on the engine and
 * on the kinds' own executors, and comes back through a queue that belongs to that one pass over the job (so an item
 * that returns after its pass gave up waiting can never be recorded against a later job).
 */
public final class JobRunner implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);
    private static final long RETRY_BACKOFF_MS = 200;
    /** A claim outlives its last renewal by this long; renewed every {@link #RENEW_SECONDS} while the job runs. */
    static final long LEASE_SECONDS = 60;
    private static final long RENEW_SECONDS = 10;

    private final JobStore store;
    private final String owner;
    private final Map<String, JobKind> kinds = new HashMap<>();
    private final int maxInFlight;
    private final Clock clock;
    private final Thread thread;
    private final Object wake = new Object();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private volatile boolean signalled;

    private record Done(Item item, JobKind.Outcome outcome, Throwable error) {}

    /** @param owner this server's instance id: stable across restarts of the same server (see {@link JobStore#claim}) */
    public JobRunner(JobStore store, List<JobKind> kinds, int maxInFlight, Clock clock, String owner) {
        this.store = store;
        this.owner = owner;
        for (JobKind k : kinds) this.kinds.put(k.kind(), k);
        this.maxInFlight = Math.max(1, maxInFlight);
        this.clock = clock;
        this.thread = new Thread(this::loop, "glimpse-jobs");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** New job or cancel request: look at the store now instead of at the next poll. */
    public void wake() {
        synchronized (wake) {
            signalled = true;
            wake.notifyAll();
        }
    }

    private long now() {
        return clock.millis() / 1000;
    }

    private void loop() {
        while (!stopping.get()) {
            try {
                Job claimed = null;
                for (Job j : store.unfinishedJobs()) {
                    if (store.claim(j.id(), owner, now(), LEASE_SECONDS)) {
                        claimed = j;
                        break;
                    }
                }
                if (claimed == null) {
                    synchronized (wake) {
                        if (!signalled) wake.wait(1000);
                        signalled = false;
                    }
                    continue;
                }
                try {
                    run(claimed);
                } finally {
                    store.release(claimed.id(), owner);
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                // A store outage must not kill the runner: log, back off, try again (the state is in the store).
                log.error("job runner: {}", e.toString(), e);
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void run(Job job) throws InterruptedException {
        JobKind kind = kinds.get(job.kind());
        if (kind == null) {
            store.fail(job.id(), "no runner for job kind '" + job.kind() + "'", now());
            return;
        }
        switch (job.status()) {
            case "validating" -> validate(job, kind);
            case "in_progress" -> process(job, kind);
            case "finalizing" -> finish(job, kind);
            case "cancelling" -> store.transition(job.id(), "cancelling", "cancelled", "finished_at", now());
            default -> { }
        }
    }

    private void validate(Job job, JobKind kind) {
        List<String> inputs;
        try {
            inputs = kind.listInputs(job);
        } catch (GlimpseException e) {
            store.fail(job.id(), e.getMessage(), now());
            return;
        } catch (Exception e) {
            log.warn("job {}: cannot list its inputs", job.id(), e);
            store.fail(job.id(), "cannot read the job's input: " + e.getMessage(), now());
            return;
        }
        if (!store.startWithItems(job.id(), inputs, now())) kind.discard(job);
    }

    /** Keeps the job's pending items flowing through the engine until none is left, or the job is cancelled or deleted. */
    private void process(Job job, JobKind kind) throws InterruptedException {
        BlockingQueue<Done> done = new LinkedBlockingQueue<>();
        AtomicBoolean cancelled = new AtomicBoolean();
        Map<Integer, Item> inFlight = new HashMap<>();
        Deque<Item> queue = new ArrayDeque<>();   // fetched pending items not yet submitted (retries go first)
        int lastFetched = -1;
        boolean exhausted = false;
        long tick = System.nanoTime();
        long lastStatusCheck = 0;
        long lastRenewal = System.nanoTime();
        long retryAfter = 0;
        while (true) {
            // Is the job still wanted? (cancel and delete come from HTTP threads through the store)
            long t = System.nanoTime();
            if (t - lastStatusCheck > 200_000_000L || signalledAndClear()) {
                lastStatusCheck = t;
                Optional<Job> cur = store.job(job.id());
                if (cur.isEmpty() || !cur.get().status().equals("in_progress")) cancelled.set(true);
                if (t - lastRenewal > RENEW_SECONDS * 1_000_000_000L) {
                    lastRenewal = t;
                    if (cur.isPresent() && !store.claim(job.id(), owner, now(), LEASE_SECONDS)) {
                        // Another server took the job over (our lease ran out, e.g. after a long pause): stop touching it.
                        log.warn("job {}: claim lost to another server; stopping here", job.id());
                        drain(job, kind, inFlight, done);
                        return;
                    }
                }
                double secs = (t - tick) / 1e9;
                if (secs > 2 && cur.isPresent()) {
                    store.addRunSeconds(job.id(), secs);
                    tick = t;
                }
            }
            if (cancelled.get()) {
                drain(job, kind, inFlight, done);
                store.addRunSeconds(job.id(), (System.nanoTime() - tick) / 1e9);
                store.transition(job.id(), "cancelling", "cancelled", "finished_at", now());
                return;
            }
            // Top up the window.
            while (!stopping.get() && inFlight.size() < maxInFlight && System.currentTimeMillis() >= retryAfter) {
                if (queue.isEmpty() && !exhausted) {
                    List<Item> page = store.pendingItems(job.id(), lastFetched, Math.max(64, 2 * maxInFlight));
                    if (page.isEmpty()) exhausted = true;
                    else {
                        queue.addAll(page);
                        lastFetched = page.get(page.size() - 1).idx();
                    }
                }
                Item next = queue.pollFirst();
                if (next == null) break;
                inFlight.put(next.idx(), next);
                submit(job, kind, next, cancelled, done);
            }
            if (stopping.get()) {
                drain(job, kind, inFlight, done);
                return;
            }
            if (inFlight.isEmpty() && queue.isEmpty() && exhausted) {
                store.addRunSeconds(job.id(), (System.nanoTime() - tick) / 1e9);
                if (store.transition(job.id(), "in_progress", "finalizing", "finalizing_at", now())) {
                    store.job(job.id()).ifPresent(j -> finish(j, kind));
                }
                return;
            }
            Done d = done.poll(50, TimeUnit.MILLISECONDS);
            List<JobStore.Finished> finished = new ArrayList<>();
            while (d != null) {
                inFlight.remove(d.item().idx());
                if (d.error() != null) {
                    GlimpseException g = ChatService.unwrap(d.error());
                    if (g.status() == 429 && !cancelled.get()) {
                        queue.addFirst(d.item());   // engine full: the item waits, it has not failed
                        retryAfter = System.currentTimeMillis() + RETRY_BACKOFF_MS;
                    } else if (!cancelled.get()) {
                        log.warn("job {} item {}: {}", job.id(), d.item().idx(), g.getMessage());
                        finished.add(new JobStore.Finished(d.item().idx(), false, kind.failure(job, d.item(), g), 0));
                    }
                } else if (d.outcome() == JobKind.Outcome.INTERRUPTED) {
                    if (!cancelled.get() && !stopping.get()) queue.addFirst(d.item());   // not ours to drop: run it again
                } else {
                    // A result that arrives after a cancel is still real work: keep it (OpenAI keeps completed requests).
                    finished.add(storable(job, kind, d.item(), d.outcome()));
                }
                d = done.poll();
            }
            store.finishItems(job.id(), finished, now());   // one commit for everything that came back
        }
    }

    private void submit(Job job, JobKind kind, Item item, AtomicBoolean cancelled, BlockingQueue<Done> done) {
        try {
            kind.process(job, item, () -> cancelled.get() || stopping.get())
                    .whenComplete((o, e) -> done.add(new Done(item, o, e)));
        } catch (RuntimeException e) {
            done.add(new Done(item, null, e));
        }
    }

    /** Waits for in-flight items to come back (they were told to stop), recording the ones that finished. */
    private void drain(Job job, JobKind kind, Map<Integer, Item> inFlight, BlockingQueue<Done> done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!inFlight.isEmpty() && System.nanoTime() < deadline) {
            Done d = done.poll(100, TimeUnit.MILLISECONDS);
            if (d == null) continue;
            inFlight.remove(d.item().idx());
            if (d.error() == null && d.outcome() != null && d.outcome() != JobKind.Outcome.INTERRUPTED && d.outcome().ok()) {
                store.finishItems(d.item().jobId(), List.of(storable(job, kind, d.item(), d.outcome())), now());
            }
        }
    }

    /**
     * The outcome as the store can hold it. A result line longer than the result column would make the whole commit
     * fail, and the job would be retried and fail the same way for ever, holding up every job behind it: such an item
     * is recorded as failed with a short error line instead.
     */
    private JobStore.Finished storable(Job job, JobKind kind, Item item, JobKind.Outcome o) {
        if (o.result() == null || o.result().length() <= JobStore.MAX_RESULT_CHARS) {
            return new JobStore.Finished(item.idx(), o.ok(), o.result(), o.tokens());
        }
        GlimpseException tooLong = GlimpseException.invalid("result_too_large", null, "the result of this request is "
                + o.result().length() + " characters, more than a job stores per line (" + JobStore.MAX_RESULT_CHARS + ")");
        log.warn("job {} item {}: {}", job.id(), item.idx(), tooLong.getMessage());
        return new JobStore.Finished(item.idx(), false, kind.failure(job, item, tooLong), o.tokens());
    }

    private void finish(Job job, JobKind kind) {
        try {
            kind.finish(job);
        } catch (RuntimeException e) {
            log.error("job {}: finalizing failed", job.id(), e);
            store.fail(job.id(), "finalizing failed: " + e.getMessage(), now());
            return;
        }
        store.transition(job.id(), "finalizing", "completed", "finished_at", now());
    }

    private boolean signalledAndClear() {
        synchronized (wake) {
            boolean s = signalled;
            signalled = false;
            return s;
        }
    }

    /** Stops the dispatcher; in-flight items are abandoned (they are still pending in the store and run after restart). */
    @Override
    public void close() throws InterruptedException {
        stopping.set(true);
        wake();
        thread.interrupt();
        thread.join(10_000);
    }
}
