package dev.glimpse.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Projected image features by image content: key = hash of the decoded pixels plus every preprocessing parameter (see
 * {@link ImageInputs#key}), value = (tokens, hidden) features. LRU, bounded in bytes. Engine thread only.
 */
public final class VisionCache {

    private final long capacityBytes;
    private long bytes;
    private final LinkedHashMap<String, float[]> map = new LinkedHashMap<>(64, 0.75f, true);
    private final Counter hits;
    private final Counter misses;

    public VisionCache(long capacityBytes, MeterRegistry metrics, String model) {
        this.capacityBytes = capacityBytes;
        this.hits = Counter.builder("glimpse.vision.cache").tag("model", model).tag("result", "hit").register(metrics);
        this.misses = Counter.builder("glimpse.vision.cache").tag("model", model).tag("result", "miss").register(metrics);
        Gauge.builder("glimpse.vision.cache.bytes", this, c -> c.bytes).tag("model", model).register(metrics);
    }

    /** The cached features, or null (counted as a miss). */
    public float[] get(String key) {
        float[] f = map.get(key);
        (f == null ? misses : hits).increment();
        return f;
    }

    public void put(String key, float[] features) {
        long size = (long) features.length * Float.BYTES;
        if (size > capacityBytes) return;
        float[] old = map.put(key, features);
        if (old != null) bytes -= (long) old.length * Float.BYTES;
        bytes += size;
        var it = map.entrySet().iterator();
        while (bytes > capacityBytes && it.hasNext()) {
            Map.Entry<String, float[]> eldest = it.next();
            if (eldest.getKey().equals(key)) continue;
            bytes -= (long) eldest.getValue().length * Float.BYTES;
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
