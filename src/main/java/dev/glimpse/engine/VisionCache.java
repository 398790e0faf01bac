package dev.glimpse.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a family's runner computes from an image, by image content: key = hash of the decoded pixels plus every
 * preprocessing parameter ({@link dev.glimpse.image.ImageKeys#key}), value = whatever the runner stores (Kimi-VL:
 * projected features (tokens, hidden) as float[]; Chameleon: VQ token ids as long[]) with its size in bytes. LRU,
 * bounded in bytes. Engine thread only.
 */
public final class VisionCache {

    private final long capacityBytes;
    private long bytes;
    private final LinkedHashMap<String, Entry> map = new LinkedHashMap<>(64, 0.75f, true);
    private final Counter hits;
    private final Counter misses;

    public VisionCache(long capacityBytes, MeterRegistry metrics, String model) {
        this.capacityBytes = capacityBytes;
        this.hits = Counter.builder("glimpse.vision.cache").tag("model", model).tag("result", "hit").register(metrics);
        this.misses = Counter.builder("glimpse.vision.cache").tag("model", model).tag("result", "miss").register(metrics);
        Gauge.builder("glimpse.vision.cache.bytes", this, c -> c.bytes).tag("model", model).register(metrics);
    }

    private record Entry(Object value, long bytes) {}

    /** The cached value, or null (counted as a miss). */
    public Object get(String key) {
        Entry e = map.get(key);
        (e == null ? misses : hits).increment();
        return e == null ? null : e.value();
    }

    /** Features as float[]. */
    public void put(String key, float[] features) {
        put(key, features, (long) features.length * Float.BYTES);
    }

    /** Token ids as long[]. */
    public void put(String key, long[] ids) {
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

    public long bytes() {
        return bytes;
    }

    public int size() {
        return map.size();
    }

    public double hitCount() {
        return hits.count();
    }

    public double missCount() {
        return misses.count();
    }
}
