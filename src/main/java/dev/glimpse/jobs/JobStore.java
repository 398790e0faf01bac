package dev.glimpse.jobs;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.transaction.support.TransactionTemplate;

import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Durable state of files, jobs and job items (JDBC; schema in db/migration). Every method is one transaction. The rules
 * that make a crash at any point safe:
 * <ul>
 *   <li>an item's result is written once: {@link #finishItem} only updates a pending row, so a result that was already
 *       reported is never replaced and no item is counted twice;</li>
 *   <li>the job's counters change in the same transaction as the item they count;</li>
 *   <li>items are (re)created with the job's move out of {@code validating} in one transaction, so a crash while
 *       listing the inputs leaves a job that simply lists them again.</li>
 * </ul>
 */
public final class JobStore {

    public static final int PENDING = 0;
    public static final int COMPLETED = 1;
    public static final int FAILED = 2;

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;

    public JobStore(JdbcTemplate jdbc, TransactionTemplate tx) {
        this.jdbc = jdbc;
        this.tx = tx;
    }

    // ---------------------------------------------------------------------------------------------------------------- files

    public void insertFile(StoredFile f) {
        jdbc.update("INSERT INTO files (id, purpose, filename, bytes, created_at, job_id, kind) VALUES (?,?,?,?,?,?,?)",
                f.id(), f.purpose(), f.filename(), f.bytes(), f.createdAt(), f.jobId(), f.kind());
    }

    public Optional<StoredFile> file(String id) {
        return jdbc.query("SELECT * FROM files WHERE id = ?", FILE, id).stream().findFirst();
    }

    public List<StoredFile> files(String purpose, int limit) {
        return files(purpose, null, limit, false);
    }

    /**
     * Files newest first (same created_at: larger id first), or oldest first when {@code ascending}; with {@code after}
     * (a file that exists), only those that come after it in that order.
     */
    public List<StoredFile> files(String purpose, StoredFile after, int limit, boolean ascending) {
        StringBuilder sql = new StringBuilder("SELECT * FROM files WHERE 1 = 1");
        List<Object> args = new java.util.ArrayList<>();
        if (purpose != null) {
            sql.append(" AND purpose = ?");
            args.add(purpose);
        }
        String cmp = ascending ? ">" : "<";
        if (after != null) {
            sql.append(" AND (created_at ").append(cmp).append(" ? OR (created_at = ? AND id ").append(cmp).append(" ?))");
            args.addAll(List.of(after.createdAt(), after.createdAt(), after.id()));
        }
        String dir = ascending ? "ASC" : "DESC";
        sql.append(" ORDER BY created_at ").append(dir).append(", id ").append(dir).append(" LIMIT ?");
        args.add(limit);
        return jdbc.query(sql.toString(), FILE, args.toArray());
    }

    public boolean deleteFile(String id) {
        return jdbc.update("DELETE FROM files WHERE id = ?", id) == 1;
    }

    // ---------------------------------------------------------------------------------------------------------------- jobs

    public void insertJob(Job j) {
        jdbc.update("INSERT INTO jobs (id, kind, status, model, spec, created_at) VALUES (?,?,?,?,?,?)",
                j.id(), j.kind(), j.status(), j.model(), j.spec(), j.createdAt());
    }

    public Optional<Job> job(String id) {
        return jdbc.query("SELECT * FROM jobs WHERE id = ?", JOB, id).stream().findFirst();
    }

    /** Newest first; {@code after} is the id of the last job of the previous page (OpenAI's cursor), or null. */
    public List<Job> jobs(String kind, String after, int limit) {
        if (after == null) {
            return jdbc.query("SELECT * FROM jobs WHERE kind = ? ORDER BY seq DESC LIMIT ?", JOB, kind, limit);
        }
        return jdbc.query("SELECT * FROM jobs WHERE kind = ? AND seq < (SELECT seq FROM jobs WHERE id = ?) ORDER BY seq DESC LIMIT ?",
                JOB, kind, after, limit);
    }

    /** Jobs the runner still owes work, oldest first (FIFO across server restarts). */
    public List<Job> unfinishedJobs() {
        return jdbc.query("SELECT * FROM jobs WHERE status IN ('validating','in_progress','finalizing','cancelling') "
                + "ORDER BY seq", JOB);
    }

    /**
     * Claims (or renews the claim on) a job for {@code owner} until {@code now + leaseSeconds}: succeeds when the job is
     * unclaimed, already this owner's, or its lease has run out (its server died). Several servers sharing one database
     * thus never work on the same job at once, and a restarted server with the same instance id takes its jobs back at
     * once.
     */
    public boolean claim(String id, String owner, long now, long leaseSeconds) {
        return jdbc.update("UPDATE jobs SET owner = ?, lease_until = ? WHERE id = ? "
                + "AND (owner IS NULL OR owner = ? OR lease_until < ?)", owner, now + leaseSeconds, id, owner, now) == 1;
    }

    /** Gives a claim up (the job is finished, or the server stops). */
    public void release(String id, String owner) {
        jdbc.update("UPDATE jobs SET owner = NULL, lease_until = NULL WHERE id = ? AND owner = ?", id, owner);
    }

    /** Moves a job between states; returns false if it was not in {@code from} (e.g. cancelled meanwhile, or deleted). */
    public boolean transition(String id, String from, String to, String timeColumn, long now) {
        String set = timeColumn == null ? "" : ", " + checkColumn(timeColumn) + " = " + now;
        return jdbc.update("UPDATE jobs SET status = ?" + set + " WHERE id = ? AND status = ?", to, id, from) == 1;
    }

    /**
     * Cancel request. A job still validating has nothing in flight, so it is cancelled at once (if the runner is
     * listing its inputs right now, {@link #startWithItems} then finds it gone); one in progress or finalizing goes to
     * cancelling and the runner that holds it finishes the cancel. Returns the job as it is afterwards.
     */
    public Optional<Job> requestCancel(String id, long now) {
        int n = jdbc.update("UPDATE jobs SET status = 'cancelled', cancelling_at = ?, finished_at = ? WHERE id = ? "
                + "AND status = 'validating'", now, now, id);
        if (n == 0) {
            jdbc.update("UPDATE jobs SET status = 'cancelling', cancelling_at = ? WHERE id = ? "
                    + "AND status IN ('in_progress','finalizing')", now, id);
        }
        return job(id);
    }

    public void fail(String id, String error, long now) {
        jdbc.update("UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                error.length() > 4000 ? error.substring(0, 4000) : error, now, id);
    }

    public void addRunSeconds(String id, double seconds) {
        jdbc.update("UPDATE jobs SET run_seconds = run_seconds + ? WHERE id = ?", seconds, id);
    }

    /** Deletes the job, its items and its generated files. */
    public boolean deleteJob(String id) {
        return Boolean.TRUE.equals(tx.execute(s -> {
            jdbc.update("DELETE FROM job_items WHERE job_id = ?", id);
            jdbc.update("DELETE FROM files WHERE job_id = ? AND kind <> 'upload'", id);
            return jdbc.update("DELETE FROM jobs WHERE id = ?", id) == 1;
        }));
    }

    // ---------------------------------------------------------------------------------------------------------------- items

    /**
     * validating -> in_progress: replaces the job's items by {@code inputs} (index = position) and sets the total, in one
     * transaction. Returns false (and changes nothing) if the job left validating meanwhile.
     */
    public boolean startWithItems(String jobId, List<String> inputs, long now) {
        return Boolean.TRUE.equals(tx.execute(s -> {
            // the conditional update first: it locks the job row, so a cancel or delete cannot slip in between
            int n = jdbc.update("UPDATE jobs SET status = 'in_progress', total = ?, completed = 0, failed = 0, tokens = 0, "
                    + "started_at = ? WHERE id = ? AND status = 'validating'", inputs.size(), now, jobId);
            if (n == 0) return false;
            jdbc.update("DELETE FROM job_items WHERE job_id = ?", jobId);
            List<Object[]> rows = new java.util.ArrayList<>(inputs.size());
            for (int i = 0; i < inputs.size(); i++) rows.add(new Object[] {jobId, i, inputs.get(i)});
            jdbc.batchUpdate("INSERT INTO job_items (job_id, idx, input) VALUES (?,?,?)", rows);
            return true;
        }));
    }

    /** Pending items with index > afterIdx, in index order. */
    public List<Item> pendingItems(String jobId, int afterIdx, int limit) {
        return jdbc.query("SELECT * FROM job_items WHERE job_id = ? AND state = 0 AND idx > ? ORDER BY idx LIMIT ?",
                ITEM, jobId, afterIdx, limit);
    }

    /**
     * Records an item's outcome once. Returns false if the item was not pending (already recorded, or its job deleted),
     * in which case nothing changes.
     */
    public boolean finishItem(String jobId, int idx, boolean ok, String result, int tokens, long now) {
        return Boolean.TRUE.equals(tx.execute(s -> finishItemInTx(jobId, idx, ok, result, tokens, now)));
    }

    /** Capacity of job_items.result (VARCHAR(1000000) in V1__jobs.sql), in characters. */
    public static final int MAX_RESULT_CHARS = 1_000_000;

    /** One finished item for {@link #finishItems}. */
    public record Finished(int idx, boolean ok, String result, int tokens) {}

    /**
     * {@link #finishItem} for several items in one transaction (one commit, one write: the runner records everything
     * that came back since its last look together). Returns how many were recorded.
     */
    public int finishItems(String jobId, List<Finished> items, long now) {
        if (items.isEmpty()) return 0;
        Integer n = tx.execute(s -> {
            int recorded = 0;
            for (Finished f : items) {
                if (finishItemInTx(jobId, f.idx(), f.ok(), f.result(), f.tokens(), now)) recorded++;
            }
            return recorded;
        });
        return n == null ? 0 : n;
    }

    private boolean finishItemInTx(String jobId, int idx, boolean ok, String result, int tokens, long now) {
        int n = jdbc.update("UPDATE job_items SET state = ?, result = ?, tokens = ?, finished_at = ? "
                + "WHERE job_id = ? AND idx = ? AND state = 0", ok ? COMPLETED : FAILED, result, tokens, now, jobId, idx);
        if (n == 0) return false;
        jdbc.update(ok ? "UPDATE jobs SET completed = completed + 1, tokens = tokens + ? WHERE id = ?"
                : "UPDATE jobs SET failed = failed + 1, tokens = tokens + ? WHERE id = ?", tokens, jobId);
        return true;
    }

    /** Bytes of the JSONL rendered from the finished items of one state (COMPLETED or FAILED): lines + newlines. */
    public long resultBytes(String jobId, int state) {
        Long n = jdbc.queryForObject("SELECT COALESCE(SUM(OCTET_LENGTH(result) + 1), 0) FROM job_items WHERE job_id = ? AND state = ?",
                Long.class, jobId, state);
        return n == null ? 0 : n;
    }

    /** Writes the finished items of one state (or -1 for both) as JSONL: one result line each, in index order. */
    public void writeResults(String jobId, int state, java.io.OutputStream out) throws java.io.IOException {
        try {
            forEachResult(jobId, state, item -> {
                try {
                    out.write(item.result().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    out.write('\n');
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** Streams finished items of one state (COMPLETED or FAILED, or -1 for both) in index order, without loading all. */
    public void forEachResult(String jobId, int state, Consumer<Item> sink) {
        String where = state < 0 ? "state <> 0" : "state = " + state;
        int after = -1;
        while (true) {
            List<Item> page = jdbc.query("SELECT * FROM job_items WHERE job_id = ? AND " + where + " AND idx > ? ORDER BY idx LIMIT 500",
                    ITEM, jobId, after);
            page.forEach(sink);
            if (page.size() < 500) return;
            after = page.get(page.size() - 1).idx();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------- mapping

    private static String checkColumn(String c) {
        if (!List.of("started_at", "finalizing_at", "finished_at", "cancelling_at").contains(c)) {
            throw new IllegalArgumentException("not a time column: " + c);
        }
        return c;
    }

    private static Long nullableLong(java.sql.ResultSet rs, String col) throws java.sql.SQLException {
        long v = rs.getLong(col);
        return rs.wasNull() ? null : v;
    }

    private static final RowMapper<StoredFile> FILE = (rs, i) -> new StoredFile(rs.getString("id"), rs.getString("purpose"),
            rs.getString("filename"), rs.getLong("bytes"), rs.getLong("created_at"), rs.getString("job_id"), rs.getString("kind"));

    private static final RowMapper<Job> JOB = (rs, i) -> new Job(rs.getString("id"), rs.getString("kind"), rs.getString("status"),
            rs.getString("model"), rs.getString("spec"), rs.getInt("total"), rs.getInt("completed"), rs.getInt("failed"),
            rs.getLong("tokens"), rs.getString("error"), rs.getLong("created_at"), nullableLong(rs, "started_at"),
            nullableLong(rs, "finalizing_at"), nullableLong(rs, "finished_at"), nullableLong(rs, "cancelling_at"),
            rs.getDouble("run_seconds"));

    private static final RowMapper<Item> ITEM = (rs, i) -> {
        int tokens = rs.getInt("tokens");
        return new Item(rs.getString("job_id"), rs.getInt("idx"), rs.getString("input"), rs.getInt("state"),
                rs.getString("result"), rs.wasNull() ? 0 : tokens);
    };
}
