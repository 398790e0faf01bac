package dev.glimpse.engine;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@link ModelRunner} without a model, for scheduler tests. It records every call (tagged with the step number the test
 * sets through {@link #step}), keeps a fake per-sequence cache (token counts) and reports {@link #cacheBytesInUse} from it,
 * and returns one-hot logits whose argmax is {@link #token}: a function of the request's first prompt id and of how many
 * tokens the sequence has generated so far, or {@link #STOP} at the step configured with {@link #stopAt}.
 *
 * <p>Contract violations by the engine (prefill chunks out of order, decode of a sequence not in the batch, a decode batch
 * that differs from the joined rows, a wrong last token fed back, a cache growing past prompt + max_tokens) are collected
 * in {@link #violations} rather than thrown, so a test can assert on them directly. Only the engine thread calls the
 * runner; the lists are synchronized so a test thread can read them once the engine has stopped.
 */
final class FakeRunner implements ModelRunner {

    static final int VOCAB = 100;
    /** The token tests configure as the stop token. */
    static final int STOP = 99;
    static final long BYTES_PER_TOKEN = 100;

    record Prepare(int step, List<String> ids) {}

    record Prefill(int step, String id, int from, int to) {}

    record Decode(int step, List<String> ids) {}

    record Leave(int step, List<String> ids) {}

    /** Set by the test before each {@code engine.step()} so records can be grouped by step. */
    volatile int step;

    final List<Prepare> prepares = Collections.synchronizedList(new ArrayList<>());
    final List<Prefill> prefills = Collections.synchronizedList(new ArrayList<>());
    final List<String> joins = Collections.synchronizedList(new ArrayList<>());
    final List<Leave> leaves = Collections.synchronizedList(new ArrayList<>());
    final List<Decode> decodes = Collections.synchronizedList(new ArrayList<>());
    final List<String> violations = Collections.synchronizedList(new ArrayList<>());

    /** request id -> generation index (0 = the token sampled from the prefill logits) at which STOP is returned. */
    final Map<String, Integer> stopAt = new HashMap<>();
    final Set<String> prepareFailsFor = new HashSet<>();
    final Set<String> prefillFailsFor = new HashSet<>();
    final Set<String> joinFailsFor = new HashSet<>();
    /** The step whose decode throws (0: none). */
    volatile int decodeFailsAtStep;

    /** Fake cache: tokens held per sequence (prefill caches and batch rows alike). */
    private final Map<Sequence, Integer> cached = new LinkedHashMap<>();
    /** Decode rows in join order, as a real batch cache keeps them. */
    private final List<Sequence> rows = new ArrayList<>();
    private volatile long bytesInUse;
    private long peakBytes;

    /** The token the fake model produces for a prompt starting with {@code firstPromptId} after {@code generated} tokens. */
    static int token(long firstPromptId, int generated) {
        return (int) ((firstPromptId + generated) % 50) + 32; // 32..81: printable ASCII 'A'..'r' in the fixture tokenizer
    }

    private int next(Sequence s) {
        Integer stop = stopAt.get(s.request().id());
        if (stop != null && stop == s.generated()) return STOP;
        return token(s.request().promptIds()[0], s.generated());
    }

    private static float[] oneHot(int token) {
        float[] l = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) l[i] = -(i % 7); // some structure, all below the hot one
        l[token] = 5f;
        return l;
    }

    private static String id(Sequence s) {
        return s.request().id();
    }

    private static List<String> ids(List<Sequence> seqs) {
        List<String> out = new ArrayList<>();
        for (Sequence s : seqs) out.add(id(s));
        return out;
    }

    private void account() {
        long total = 0;
        for (int n : cached.values()) total += n * BYTES_PER_TOKEN;
        bytesInUse = total;
        peakBytes = Math.max(peakBytes, total);
    }

    synchronized long peakBytes() {
        return peakBytes;
    }

    List<String> preparedIds() {
        synchronized (prepares) {
            List<String> out = new ArrayList<>();
            for (Prepare p : prepares) out.addAll(p.ids());
            return out;
        }
    }

    List<Prefill> prefillsOf(String id) {
        synchronized (prefills) {
            return prefills.stream().filter(p -> p.id().equals(id)).toList();
        }
    }

    List<Decode> decodesAt(int step) {
        synchronized (decodes) {
            return decodes.stream().filter(d -> d.step() == step).toList();
        }
    }

    List<String> leftIds() {
        synchronized (leaves) {
            List<String> out = new ArrayList<>();
            for (Leave l : leaves) out.addAll(l.ids());
            return out;
        }
    }

    @Override
    public long bytesPerToken() {
        return BYTES_PER_TOKEN;
    }

    @Override
    public synchronized void prepare(List<Sequence> admitted) {
        prepares.add(new Prepare(step, ids(admitted)));
        for (Sequence s : admitted) {
            if (prepareFailsFor.contains(id(s))) {
                for (Sequence t : admitted) if (cached.containsKey(t)) cached.remove(t);
                account();
                throw new IllegalStateException("fake prepare failure for " + id(s));
            }
            if (cached.containsKey(s)) violations.add("prepare twice: " + id(s));
            cached.put(s, 0);
        }
        account();
    }

    @Override
    public synchronized float[] prefill(Sequence s, int from, int to) {
        prefills.add(new Prefill(step, id(s), from, to));
        if (prefillFailsFor.contains(id(s))) throw new IllegalStateException("fake prefill failure for " + id(s));
        Integer have = cached.get(s);
        if (have == null) {
            violations.add("prefill before prepare: " + id(s));
            have = 0;
        }
        if (have != from) violations.add("prefill " + id(s) + " [" + from + "," + to + ") but cache holds " + have);
        if (to <= from || to > s.promptLength()) violations.add("bad prefill range " + id(s) + " [" + from + "," + to + ")");
        if (rows.contains(s)) violations.add("prefill of a decoding sequence: " + id(s));
        cached.put(s, to);
        account();
        return to == s.promptLength() ? oneHot(next(s)) : null;
    }

    @Override
    public synchronized void join(Sequence s) {
        joins.add(id(s));
        if (joinFailsFor.contains(id(s))) throw new IllegalStateException("fake join failure for " + id(s));
        Integer have = cached.get(s);
        if (have == null || have != s.promptLength()) violations.add("join before prefill finished: " + id(s) + " " + have);
        if (rows.contains(s)) violations.add("join twice: " + id(s));
        rows.add(s);
    }

    @Override
    public synchronized void leave(List<Sequence> gone) {
        leaves.add(new Leave(step, ids(gone)));
        for (Sequence s : gone) {
            rows.remove(s);
            cached.remove(s);
        }
        account();
    }

    @Override
    public synchronized float[][] decode(List<Sequence> batch) {
        decodes.add(new Decode(step, ids(batch)));
        if (decodeFailsAtStep > 0 && step == decodeFailsAtStep) throw new IllegalStateException("fake decode failure");
        if (batch.size() != rows.size() || !new HashSet<>(batch).equals(new HashSet<>(rows))) {
            violations.add("decode batch " + ids(batch) + " but rows " + ids(rows));
        }
        // Compute per row (the runner's own order), hand back in the order of batch, as the real runner does.
        Map<Sequence, float[]> byRow = new HashMap<>();
        for (Sequence s : rows) {
            int expectedLast = lastTokenFor(s);
            if (s.lastToken() != expectedLast) {
                violations.add("decode fed " + id(s) + " token " + s.lastToken() + ", expected " + expectedLast);
            }
            int n = cached.getOrDefault(s, 0) + 1;
            cached.put(s, n);
            if (n > s.maxLength()) violations.add(id(s) + " holds " + n + " tokens, more than prompt + max_tokens");
            byRow.put(s, oneHot(next(s)));
        }
        account();
        float[][] out = new float[batch.size()][];
        for (int i = 0; i < batch.size(); i++) {
            out[i] = byRow.get(batch.get(i));
            if (out[i] == null) {
                violations.add("decode of " + id(batch.get(i)) + " which is not in the batch");
                out[i] = oneHot(0);
            }
        }
        return out;
    }

    /** The token the engine must feed back: the one produced for generation index generated-1. */
    private int lastTokenFor(Sequence s) {
        int g = s.generated() - 1;
        Integer stop = stopAt.get(id(s));
        if (stop != null && stop == g) return STOP;
        return token(s.request().promptIds()[0], g);
    }

    @Override
    public long cacheBytesInUse() {
        return bytesInUse;
    }
}
