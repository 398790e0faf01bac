package dev.glimpse.jobs;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import javax.sql.DataSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What {@link JobStore} promises, checked against a real database: each subclass hands out a fresh, empty database (or
 * schema) per test, migrated here with the application's Flyway scripts, so the same assertions hold on the embedded H2
 * ({@link JobStoreH2Test}, every machine) and on PostgreSQL ({@link JobStorePostgresTest}, when one is configured).
 */
abstract class JobStoreContract {

    /** A fresh, empty database or schema; {@link #flyway} must migrate exactly that. */
    protected abstract DataSource openFreshDatabase() throws Exception;

    /** Flyway pointed at the fresh database (a subclass may name a schema). */
    protected Flyway flyway(DataSource ds) {
        return Flyway.configure().dataSource(ds).locations("classpath:db/migration").load();
    }

    protected abstract void dropDatabase() throws Exception;

    protected DataSource ds;
    protected JdbcTemplate jdbc;
    protected JobStore store;

    static final long T0 = 1_700_000_000L;

    @BeforeEach
    void migrate() throws Exception {
        ds = openFreshDatabase();
        var result = flyway(ds).migrate();
        assertTrue(result.success, "flyway migrate");
        jdbc = new JdbcTemplate(ds);
        store = new JobStore(jdbc, new TransactionTemplate(new DataSourceTransactionManager(ds)));
    }

    @AfterEach
    void drop() throws Exception {
        dropDatabase();
    }

    // ---------------------------------------------------------------------------------------------------------------- helpers

    Job newJob(String id, String kind, long createdAt) {
        Job j = Job.create(id, kind, "kimivl-random", "{\"source\":{\"type\":\"folder\",\"path\":\"/x\"},\"prompt\":\"Décris ✓\"}", createdAt);
        store.insertJob(j);
        return j;
    }

    Job job(String id) {
        return store.job(id).orElseThrow(() -> new AssertionError("job " + id + " is missing"));
    }

    static List<String> inputs(int n) {
        return IntStream.range(0, n).mapToObj(i -> String.format("dir/img_%05d.png", i)).toList();
    }

    Job started(String id, int items) {
        newJob(id, Job.CAPTION, T0);
        assertTrue(store.startWithItems(id, inputs(items), T0 + 1));
        return job(id);
    }

    int itemRows(String jobId) {
        return jdbc.queryForObject("SELECT COUNT(*) FROM job_items WHERE job_id = ?", Integer.class, jobId);
    }

    List<Item> results(String jobId, int state) {
        List<Item> out = new ArrayList<>();
        store.forEachResult(jobId, state, out::add);
        return out;
    }

    static String line(int idx) {
        return "{\"path\":\"dir/img_" + idx + ".png\",\"caption\":\"c" + idx + "\",\"tokens\":" + idx + ",\"error\":null}";
    }

    /** The job's counters agree with its items. */
    void assertCountsMatchItems(String jobId) {
        Job j = job(jobId);
        List<Item> done = results(jobId, COMPLETED_OR_FAILED);
        assertEquals(itemRows(jobId), j.total(), "total == item rows");
        assertEquals(done.stream().filter(i -> i.state() == JobStore.COMPLETED).count(), j.completed(), "completed");
        assertEquals(done.stream().filter(i -> i.state() == JobStore.FAILED).count(), j.failed(), "failed");
        assertEquals(done.stream().mapToLong(Item::tokens).sum(), j.tokens(), "tokens");
        assertEquals(j.total() - j.completed() - j.failed(), store.pendingItems(jobId, -1, Integer.MAX_VALUE).size(), "pending");
    }

    static final int COMPLETED_OR_FAILED = -1;

    // ---------------------------------------------------------------------------------------------------------------- jobs

    @Test
    void aClaimIsExclusiveUntilItsLeaseRunsOut() {
        store.insertJob(Job.create("batch_claim", Job.BATCH, "m", "{}", T0));
        assertTrue(store.claim("batch_claim", "server-a", T0, 60));
        assertFalse(store.claim("batch_claim", "server-b", T0 + 1, 60), "held by server-a");
        assertTrue(store.claim("batch_claim", "server-a", T0 + 30, 60), "the owner renews (a restart with the same id too)");
        assertFalse(store.claim("batch_claim", "server-b", T0 + 89, 60), "renewed until T0 + 90");
        assertTrue(store.claim("batch_claim", "server-b", T0 + 91, 60), "a lapsed lease (dead server) can be taken over");
        store.release("batch_claim", "server-a");   // not the owner any more: no effect
        assertFalse(store.claim("batch_claim", "server-a", T0 + 92, 60));
        store.release("batch_claim", "server-b");
        assertTrue(store.claim("batch_claim", "server-a", T0 + 93, 60), "released");
    }

    @Test
    void insertedJobReadsBackAsCreated() {
        Job j = newJob("capjob_1", Job.CAPTION, T0);
        assertEquals(j, job("capjob_1"));
        assertEquals("validating", job("capjob_1").status());
        assertNull(job("capjob_1").startedAt());
        assertEquals(Optional.empty(), store.job("capjob_missing"));
        assertThrows(DuplicateKeyException.class, () -> newJob("capjob_1", Job.CAPTION, T0));
    }

    @Test
    void startWithItemsOnlyFromValidatingAndOnce() {
        newJob("capjob_1", Job.CAPTION, T0);
        assertTrue(store.startWithItems("capjob_1", inputs(5), T0 + 7));
        Job j = job("capjob_1");
        assertEquals("in_progress", j.status());
        assertEquals(5, j.total());
        assertEquals(T0 + 7, j.startedAt());
        List<Item> items = store.pendingItems("capjob_1", -1, 100);
        assertEquals(inputs(5), items.stream().map(Item::input).toList(), "items in input order");
        assertEquals(List.of(0, 1, 2, 3, 4), items.stream().map(Item::idx).toList());
        assertTrue(items.stream().allMatch(i -> i.state() == JobStore.PENDING && i.result() == null && i.tokens() == 0));

        // Second call: the job is no longer validating, so nothing changes (no new items, same total, same start).
        store.finishItem("capjob_1", 0, true, line(0), 3, T0 + 8);
        assertFalse(store.startWithItems("capjob_1", inputs(9), T0 + 9));
        j = job("capjob_1");
        assertEquals("in_progress", j.status());
        assertEquals(5, j.total());
        assertEquals(1, j.completed());
        assertEquals(T0 + 7, j.startedAt());
        assertEquals(5, itemRows("capjob_1"));
        assertEquals(line(0), results("capjob_1", JobStore.COMPLETED).get(0).result());

        assertFalse(store.startWithItems("capjob_missing", inputs(2), T0), "unknown job");
        assertEquals(0, itemRows("capjob_missing"));
    }

    @Test
    void startWithItemsFromValidatingReplacesLeftoverItemsAndResetsCounters() {
        started("capjob_1", 6);
        store.finishItem("capjob_1", 2, true, line(2), 4, T0 + 2);
        // Back in validating (e.g. an operator re-queues it): listing again replaces the items and the counters.
        assertTrue(store.transition("capjob_1", "in_progress", "validating", null, T0 + 3));
        assertTrue(store.startWithItems("capjob_1", inputs(3), T0 + 4));
        Job j = job("capjob_1");
        assertEquals(3, j.total());
        assertEquals(0, j.completed());
        assertEquals(0, j.tokens());
        assertEquals(3, itemRows("capjob_1"));
        assertCountsMatchItems("capjob_1");
    }

    @Test
    void emptyInputListStartsAJobWithNothingToDo() {
        newJob("capjob_1", Job.CAPTION, T0);
        assertTrue(store.startWithItems("capjob_1", List.of(), T0));
        assertEquals(0, job("capjob_1").total());
        assertEquals(List.of(), store.pendingItems("capjob_1", -1, 10));
    }

    @Test
    void pendingItemsPageInIndexOrderAndSkipFinishedOnes() {
        started("capjob_1", 10);
        started("capjob_other", 4);   // another job's items never leak in
        store.finishItem("capjob_1", 4, true, line(4), 1, T0);
        store.finishItem("capjob_1", 5, false, line(5), 0, T0);

        List<Integer> seen = new ArrayList<>();
        int after = -1;
        List<List<Integer>> pages = new ArrayList<>();
        while (true) {
            List<Item> page = store.pendingItems("capjob_1", after, 3);
            if (page.isEmpty()) break;
            assertTrue(page.size() <= 3);
            assertTrue(page.stream().allMatch(i -> i.jobId().equals("capjob_1") && i.state() == JobStore.PENDING));
            pages.add(page.stream().map(Item::idx).toList());
            page.forEach(i -> seen.add(i.idx()));
            after = page.get(page.size() - 1).idx();
        }
        assertEquals(List.of(List.of(0, 1, 2), List.of(3, 6, 7), List.of(8, 9)), pages);
        assertEquals(List.of(0, 1, 2, 3, 6, 7, 8, 9), seen);
        assertEquals(List.of(), store.pendingItems("capjob_1", 9, 3));
        assertEquals(List.of(), store.pendingItems("capjob_missing", -1, 3));
    }

    @Test
    void finishItemWritesOnceAndCountsOnce() {
        started("capjob_1", 4);
        assertTrue(store.finishItem("capjob_1", 1, true, line(1), 7, T0 + 5));
        Job j = job("capjob_1");
        assertEquals(1, j.completed());
        assertEquals(0, j.failed());
        assertEquals(7, j.tokens());

        // Again, as a success or as a failure: refused, and neither the result nor the counters move.
        assertFalse(store.finishItem("capjob_1", 1, true, "{\"other\":1}", 99, T0 + 6));
        assertFalse(store.finishItem("capjob_1", 1, false, "{\"error\":1}", 0, T0 + 6));
        Job again = job("capjob_1");
        assertEquals(j, again);
        List<Item> done = results("capjob_1", COMPLETED_OR_FAILED);
        assertEquals(1, done.size());
        assertEquals(new Item("capjob_1", 1, inputs(4).get(1), JobStore.COMPLETED, line(1), 7), done.get(0));
        assertEquals(T0 + 5, jdbc.queryForObject("SELECT finished_at FROM job_items WHERE job_id = ? AND idx = 1", Long.class, "capjob_1"));

        // A failure counts as failed, and is written once too.
        assertTrue(store.finishItem("capjob_1", 2, false, "{\"path\":\"p\",\"caption\":null,\"tokens\":0,\"error\":{}}", 0, T0 + 7));
        assertFalse(store.finishItem("capjob_1", 2, true, line(2), 5, T0 + 8));
        j = job("capjob_1");
        assertEquals(1, j.completed());
        assertEquals(1, j.failed());
        assertEquals(7, j.tokens());

        assertFalse(store.finishItem("capjob_1", 99, true, line(99), 1, T0), "no such item");
        assertFalse(store.finishItem("capjob_missing", 0, true, line(0), 1, T0), "no such job");
        assertEquals(j, job("capjob_1"));
        assertCountsMatchItems("capjob_1");
    }

    @Test
    void concurrentFinishesOfTheSameItemsCountEachItemOnce() throws Exception {
        int items = 60, threads = 6;
        started("capjob_1", items);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Callable<Integer>> tasks = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                tasks.add(() -> {
                    go.await();
                    int won = 0;
                    List<Integer> order = new ArrayList<>(IntStream.range(0, items).boxed().toList());
                    Collections.shuffle(order, new java.util.Random(thread));
                    // Every thread tries every item, with its own result: exactly one write per item may win.
                    for (int idx : order) {
                        if (store.finishItem("capjob_1", idx, idx % 7 != 0, "{\"t\":" + thread + ",\"i\":" + idx + "}", 2, T0)) won++;
                    }
                    return won;
                });
            }
            List<Future<Integer>> futures = new ArrayList<>();
            for (Callable<Integer> c : tasks) futures.add(pool.submit(c));
            go.countDown();
            int won = 0;
            for (Future<Integer> f : futures) won += f.get(60, TimeUnit.SECONDS);
            assertEquals(items, won, "successful finishItem calls");
        } finally {
            pool.shutdownNow();
        }
        Job j = job("capjob_1");
        long failed = IntStream.range(0, items).filter(i -> i % 7 == 0).count();
        assertEquals(items - failed, j.completed());
        assertEquals(failed, j.failed());
        assertEquals(2L * items, j.tokens());
        assertCountsMatchItems("capjob_1");
    }

    @Test
    void forEachResultStreamsFinishedItemsInIndexOrderAcrossPages() {
        int n = 1203;   // more than two of forEachResult's 500-row pages
        newJob("capjob_1", Job.CAPTION, T0);
        assertTrue(store.startWithItems("capjob_1", inputs(n), T0));
        for (int i = n - 1; i >= 0; i--) {      // finish out of order
            if (i % 10 == 3) continue;          // some stay pending
            store.finishItem("capjob_1", i, i % 5 != 0, line(i), 1, T0);
        }
        List<Item> all = results("capjob_1", COMPLETED_OR_FAILED);
        List<Integer> expected = IntStream.range(0, n).filter(i -> i % 10 != 3).boxed().toList();
        assertEquals(expected, all.stream().map(Item::idx).toList());
        assertTrue(all.stream().allMatch(i -> i.result().equals(line(i.idx()))));
        assertEquals(expected.stream().filter(i -> i % 5 != 0).toList(),
                results("capjob_1", JobStore.COMPLETED).stream().map(Item::idx).toList());
        assertEquals(expected.stream().filter(i -> i % 5 == 0).toList(),
                results("capjob_1", JobStore.FAILED).stream().map(Item::idx).toList());
        assertCountsMatchItems("capjob_1");
    }

    @Test
    void largeResultLinesAndUnicodeSurviveTheRoundTrip() {
        started("capjob_1", 2);
        String big = "{\"caption\":\"" + "ü字🙂".repeat(60_000) + "\"}";   // ~300k characters
        assertTrue(store.finishItem("capjob_1", 0, true, big, 1, T0));
        assertEquals(big, results("capjob_1", JobStore.COMPLETED).get(0).result());
        assertEquals("{\"source\":{\"type\":\"folder\",\"path\":\"/x\"},\"prompt\":\"Décris ✓\"}", job("capjob_1").spec());
    }

    @Test
    void transitionMovesOnlyFromTheExpectedStateAndStampsTheTime() {
        started("capjob_1", 1);
        assertFalse(store.transition("capjob_1", "validating", "in_progress", "started_at", T0 + 50), "not in validating");
        assertTrue(store.transition("capjob_1", "in_progress", "finalizing", "finalizing_at", T0 + 10));
        assertEquals(T0 + 10, job("capjob_1").finalizingAt());
        assertTrue(store.transition("capjob_1", "finalizing", "completed", "finished_at", T0 + 11));
        Job j = job("capjob_1");
        assertEquals("completed", j.status());
        assertEquals(T0 + 11, j.finishedAt());
        assertTrue(j.finished());
        assertFalse(store.transition("capjob_missing", "in_progress", "completed", null, T0));
        assertThrows(IllegalArgumentException.class,
                () -> store.transition("capjob_1", "completed", "failed", "created_at = 0, status", T0));
        assertEquals("completed", job("capjob_1").status());
    }

    @Test
    void requestCancelOnlyTouchesUnfinishedJobs() {
        newJob("capjob_v", Job.CAPTION, T0);
        started("capjob_p", 2);
        started("capjob_f", 1);
        store.transition("capjob_f", "in_progress", "finalizing", "finalizing_at", T0);
        started("capjob_c", 1);
        store.transition("capjob_c", "in_progress", "completed", "finished_at", T0);

        for (String id : List.of("capjob_p", "capjob_f")) {
            Job j = store.requestCancel(id, T0 + 20).orElseThrow();
            assertEquals("cancelling", j.status(), id);
            assertEquals(T0 + 20, j.cancellingAt(), id);
        }
        // nothing runs before validation ends, so there is nothing to wait for: cancelled at once
        Job v = store.requestCancel("capjob_v", T0 + 20).orElseThrow();
        assertEquals("cancelled", v.status());
        assertEquals(T0 + 20, v.cancellingAt());
        assertEquals(T0 + 20, v.finishedAt());
        assertFalse(store.startWithItems("capjob_v", List.of("a"), T0 + 21), "a runner still validating it finds it gone");
        assertEquals("cancelled", store.job("capjob_v").orElseThrow().status());
        Job again = store.requestCancel("capjob_p", T0 + 30).orElseThrow();
        assertEquals(T0 + 20, again.cancellingAt(), "a second cancel keeps the first time");

        Job done = store.requestCancel("capjob_c", T0 + 20).orElseThrow();
        assertEquals("completed", done.status());
        assertNull(done.cancellingAt());
        assertEquals(Optional.empty(), store.requestCancel("capjob_missing", T0));
    }

    @Test
    void failStoresTheErrorCappedAndFinishes() {
        started("capjob_1", 1);
        String longError = "x".repeat(5000);
        store.fail("capjob_1", longError, T0 + 3);
        Job j = job("capjob_1");
        assertEquals("failed", j.status());
        assertEquals(longError.substring(0, 4000), j.error());
        assertEquals(T0 + 3, j.finishedAt());
        assertTrue(store.unfinishedJobs().isEmpty());
    }

    @Test
    void runSecondsAccumulate() {
        started("capjob_1", 1);
        store.addRunSeconds("capjob_1", 1.25);
        store.addRunSeconds("capjob_1", 2.5);
        assertEquals(3.75, job("capjob_1").runSeconds(), 1e-9);
    }

    @Test
    void deleteJobRemovesItemsAndGeneratedFilesButKeepsUploads() {
        started("capjob_1", 3);
        started("capjob_2", 2);
        store.finishItem("capjob_1", 0, true, line(0), 1, T0);
        store.insertFile(new StoredFile("file-up", "batch", "in.jsonl", 10, T0, null, "upload"));
        store.insertFile(new StoredFile("file-up-linked", "caption_source", "src.zip", 10, T0, "capjob_1", "upload"));
        store.insertFile(new StoredFile("file-out", "batch_output", "out.jsonl", 0, T0, "capjob_1", "output"));
        store.insertFile(new StoredFile("file-err", "batch_output", "err.jsonl", 0, T0, "capjob_1", "errors"));
        store.insertFile(new StoredFile("file-out2", "batch_output", "out.jsonl", 0, T0, "capjob_2", "output"));

        assertTrue(store.deleteJob("capjob_1"));
        assertEquals(Optional.empty(), store.job("capjob_1"));
        assertEquals(0, itemRows("capjob_1"));
        assertEquals(List.of(), store.pendingItems("capjob_1", -1, 10));
        assertEquals(List.of(), results("capjob_1", COMPLETED_OR_FAILED));
        assertTrue(store.file("file-out").isEmpty());
        assertTrue(store.file("file-err").isEmpty());
        assertTrue(store.file("file-up").isPresent());
        assertTrue(store.file("file-up-linked").isPresent(), "uploads are not the job's to delete");
        // the other job is untouched
        assertEquals(2, itemRows("capjob_2"));
        assertTrue(store.file("file-out2").isPresent());

        assertFalse(store.deleteJob("capjob_1"), "already gone");
        assertFalse(store.finishItem("capjob_1", 1, true, line(1), 1, T0), "an item of a deleted job");
        assertFalse(store.transition("capjob_1", "in_progress", "finalizing", "finalizing_at", T0));
    }

    // ---------------------------------------------------------------------------------------------------------------- files

    @Test
    void filesInsertLookupListAndDelete() {
        StoredFile a = new StoredFile("file-a", "batch", "a.jsonl", 123, T0, null, "upload");
        StoredFile b = new StoredFile("file-b", "caption_source", "b.zip", 4_000_000_000L, T0 + 5, null, "upload");
        StoredFile c = new StoredFile("file-c", "batch", "c.jsonl", 0, T0 + 5, "batch_1", "output");
        StoredFile d = new StoredFile("file-d", "batch", "d.jsonl", 7, T0 + 9, null, "upload");
        for (StoredFile f : List.of(a, b, c, d)) store.insertFile(f);

        assertEquals(Optional.of(b), store.file("file-b"), "round trip, including a size above 2^31");
        assertEquals(Optional.of(c), store.file("file-c"));
        assertEquals(Optional.empty(), store.file("file-missing"));
        assertThrows(DuplicateKeyException.class, () -> store.insertFile(a));

        // newest first; same created_at: larger id first
        assertEquals(List.of(d, c, b, a), store.files(null, 10));
        assertEquals(List.of(d, c), store.files(null, 2));
        assertEquals(List.of(d, c, a), store.files("batch", 10));
        assertEquals(List.of(), store.files("nothing", 10));
        // cursor pages, both orders (c and b share created_at: the id breaks the tie)
        assertEquals(List.of(b, a), store.files(null, c, 10, false));
        assertEquals(List.of(c), store.files(null, d, 1, false));
        assertEquals(List.of(c, d), store.files(null, b, 10, true));
        assertEquals(List.of(b, c, d), store.files(null, a, 10, true));
        assertEquals(List.of(a), store.files("batch", c, 10, false));

        assertTrue(store.deleteFile("file-c"));
        assertFalse(store.deleteFile("file-c"));
        assertEquals(List.of(d, b, a), store.files(null, 10));
    }

    // ---------------------------------------------------------------------------------------------------------------- listing

    @Test
    void jobsListNewestFirstByKindWithTheAfterCursor() {
        // Order is creation order (an identity column), not created_at (seconds: ties) nor the random ids, so the cursor
        // never skips or repeats a job; the created_at values below tie and are even out of order on purpose.
        newJob("capjob_a", Job.CAPTION, T0);
        newJob("capjob_b", Job.CAPTION, T0 + 1);
        newJob("capjob_c", Job.CAPTION, T0 + 1);
        newJob("capjob_d", Job.CAPTION, T0 + 1);
        newJob("batch_x", Job.BATCH, T0 + 1);
        newJob("capjob_e", Job.CAPTION, T0);
        newJob("batch_y", Job.BATCH, T0 + 3);

        assertEquals(List.of("capjob_e", "capjob_d", "capjob_c", "capjob_b", "capjob_a"), ids(store.jobs(Job.CAPTION, null, 100)));
        assertEquals(List.of("batch_y", "batch_x"), ids(store.jobs(Job.BATCH, null, 100)));

        List<String> paged = new ArrayList<>();
        List<List<String>> pages = new ArrayList<>();
        String after = null;
        while (true) {
            List<String> page = ids(store.jobs(Job.CAPTION, after, 2));
            if (page.isEmpty()) break;
            pages.add(page);
            paged.addAll(page);
            after = page.get(page.size() - 1);
        }
        assertEquals(List.of(List.of("capjob_e", "capjob_d"), List.of("capjob_c", "capjob_b"), List.of("capjob_a")), pages);
        assertEquals(List.of("capjob_b", "capjob_a"), ids(store.jobs(Job.CAPTION, "capjob_c", 100)));
        assertEquals(List.of(), ids(store.jobs(Job.CAPTION, "capjob_missing", 100)), "unknown cursor");
        assertEquals(List.of("capjob_d", "capjob_c", "capjob_b", "capjob_a"), ids(store.jobs(Job.CAPTION, "batch_x", 100)),
                "a cursor of another kind still positions by creation order");
    }

    @Test
    void unfinishedJobsOldestFirstAndOnlyUnfinishedStates() {
        // Oldest = created first (created_at in seconds ties and is deliberately out of order here).
        started("capjob_x", 1);                                  // cancelling
        jdbc.update("UPDATE jobs SET created_at = ? WHERE id = ?", T0 + 5, "capjob_x");
        store.requestCancel("capjob_x", T0);
        newJob("batch_f", Job.BATCH, T0 + 2);                    // finalizing
        store.transition("batch_f", "validating", "finalizing", "finalizing_at", T0);
        started("capjob_p", 1);                                  // in_progress
        jdbc.update("UPDATE jobs SET created_at = ? WHERE id = ?", T0 + 2, "capjob_p");
        newJob("capjob_v", Job.CAPTION, T0);                     // validating
        newJob("capjob_done", Job.CAPTION, T0);                  // completed
        store.transition("capjob_done", "validating", "completed", "finished_at", T0);
        newJob("capjob_failed", Job.CAPTION, T0);                // failed
        store.fail("capjob_failed", "boom", T0);
        newJob("capjob_cancelled", Job.CAPTION, T0);             // cancelled (while validating: at once)
        store.requestCancel("capjob_cancelled", T0);

        assertEquals(List.of("capjob_x", "batch_f", "capjob_p", "capjob_v"), ids(store.unfinishedJobs()));
        assertEquals(List.of("cancelling", "finalizing", "in_progress", "validating"),
                store.unfinishedJobs().stream().map(Job::status).toList());
    }

    static List<String> ids(List<Job> jobs) {
        return jobs.stream().map(Job::id).toList();
    }
}
