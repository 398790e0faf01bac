package dev.glimpse.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a family's runner computes from an image, by image content: key = hash of the decoded pixels plus every
 * preprocessing parameter ({@link dev.glimpse.image.ImageKeys#key}), value = whatever the runner stores (Kimi-VL:
 * projected features (tokens, hidden) as float[]; Chameleon: VQ token ids as long[]) with its size in bytes. LRU,
 * bounded in bytes.
 *
 * <p>A second, smaller index maps the SHA-256 of an upload's encoded bytes to the pixel key and token count it prepared
 * to ({@link #rememberEncoded}), so a client that sends the same file again skips decoding, preprocessing and hashing
 * the pixels ({@link #findEncoded}, on the image workers). The engine thread stores and reads values; the image
 * workers read through the index; every method is synchronized (short critical sections, no I/O).
 */
public final class VisionCache {

    private final long capacityBytes;
    private long bytes;
    private final LinkedHashMap<String, Entry> map = new LinkedHashMap<>(64, 0.75f, true);
    /** Encoded-bytes digest -> what it prepared to; LRU by count (an entry is ~200 bytes, the values stay in map). */
    private final LinkedHashMap<String, Encoded> encoded = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Encoded> eldest) {
            return size() > MAX_ENCODED_ENTRIES;
        }
    };
    static final int MAX_ENCODED_ENTRIES = 8192;
    private final Counter hits;
    private final Counter misses;

    public VisionCache(long capacityBytes, MeterRegistry metrics, String model) {
        this.capacityBytes = capacityBytes;
        this.hits = Counter.builder("glimpse.vision.cache").tag("model", model).tag("result", "hit").register(metrics);
        this.misses = Counter.builder("glimpse.vision.cache").tag("model", model).tag("result", "miss").register(metrics);
        Gauge.builder("glimpse.vision.cache.bytes", this, c -> c.bytes).tag("model", model).register(metrics);
    }

    private record Entry(Object value, long bytes) {}

    private record Encoded(String key, int tokens) {}

    /**
     * An image whose value was found by the digest of its encoded bytes: the runner uses {@code value} as is (the request
     * holds it, so an eviction before admission cannot lose it).
     */
    public record CachedImage(String key, int tokens, Object value) implements PreparedImage {}

    /**
     * The value stored for the image these encoded bytes prepared to last time, or null when the bytes are new or the
     * value was evicted (not counted: the runner's {@link #get} counts that image later). A find counts as a hit.
     *
     * @param encodedKey {@link dev.glimpse.image.ImageKeys#encodedKey} of the upload
     */
    public synchronized CachedImage findEncoded(String encodedKey) {
        Encoded e = encoded.get(encodedKey);
        if (e == null) return null;
        Entry v = map.get(e.key());
        if (v == null) return null;
        hits.increment();
        return new CachedImage(e.key(), e.tokens(), v.value());
    }

    /** Remembers what an upload prepared to, so {@link #findEncoded} can skip its decoding next time. */
    public synchronized void rememberEncoded(String encodedKey, PreparedImage prepared) {
        encoded.put(encodedKey, new Encoded(prepared.key(), prepared.tokens()));
    }

    /**
     * The images of the admitted requests split into values already known and misses: a {@link CachedImage} brings its
     * value, else the cache is asked (a hit or a miss counted once per distinct key). Known values go into {@code found};
     * the misses come back once per key in first-seen order, for the runner to compute in one call and {@link #put}.
     *
     * @param type the runner's value type (float[] features, long[] token ids)
     */
    public <V> Map<String, PreparedImage> resolve(List<Sequence> admitted, Class<V> type, Map<String, V> found) {
        Map<String, PreparedImage> missing = new LinkedHashMap<>();
        for (Sequence s : admitted) {
            for (PreparedImage image : s.request().images()) {
                String k = image.key();
                if (found.containsKey(k) || missing.containsKey(k)) continue;
                Object v = image instanceof CachedImage c ? c.value() : get(k);
                if (type.isInstance(v)) found.put(k, type.cast(v));
                else missing.put(k, image);
            }
        }
        return missing;
    }

    /** The cached value, or null (counted as a miss). */
    public synchronized Object get(String key) {
        Entry e = map.get(key);
        (e == null ? misses : hits).increment();
        return e == null ? null : e.value();
    }

    /** Features as float[]. */
    public synchronized void put(String key, float[] features) {
        put(key, features, (long) features.length * Float.BYTES);
    }

    /** Token ids as long[]. */
    public synchronized void put(String key, long[] ids) {
        put(key, ids, (long) ids.length * Long.BYTES);
    }

    private void put(String key, Object value, long size) {
        if (size > capacityBytes) return;
        Entry old = map.put(key, new Entry(value, size));
        if (old != null) bytes -= old.bytes();
        bytes += size;
        var it = map.entrySet().iterator();
        while (bytes > capacityBytes && it.hasNext()) {
            Map.Entry<String, Entry> eldest = it.next();
            if (eldest.getKey().equals(key)) continue;
            bytes -= eldest.getValue().bytes();
            it.remove();
        }
    }

    public synchronized long bytes() {
        return bytes;
    }

    public synchronized int size() {
        return map.size();
    }

    public double hitCount() {
        return hits.count();
    }

    public double missCount() {
        return misses.count();
    }
}
