package dev.glimpse.engine;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class VisionCacheTest {

    @Test
    void evictsLeastRecentlyUsedToStayWithinItsByteBudget() {
        VisionCache c = new VisionCache(3 * 400, new SimpleMeterRegistry(), "m"); // room for three 100-float entries
        c.put("a", new float[100]);
        c.put("b", new float[100]);
        c.put("c", new float[100]);
        assertNotNull(c.get("a")); // a is now most recent; b is the eldest
        c.put("d", new float[100]);
        assertNull(c.get("b"));
        assertNotNull(c.get("a"));
        assertNotNull(c.get("c"));
        assertNotNull(c.get("d"));
        assertEquals(1200, c.bytes());
        assertEquals(3, c.size());
        assertEquals(4, c.hitCount());
        assertEquals(1, c.missCount());
    }

    @Test
    void anEntryLargerThanTheCacheIsNotStoredAndReplacingAKeyKeepsTheCountExact() {
        VisionCache c = new VisionCache(1000, new SimpleMeterRegistry(), "m");
        c.put("huge", new float[1000]);
        assertEquals(0, c.size());
        c.put("x", new float[10]);
        c.put("x", new float[20]);
        assertEquals(80, c.bytes());
        assertEquals(1, c.size());
    }

    @Test
    void encodedBytesFindTheValueOfWhatTheyPreparedToUntilItIsEvicted() {
        VisionCache c = new VisionCache(2 * 400, new SimpleMeterRegistry(), "m"); // room for two 100-float entries
        record Prepared(String key, int tokens) implements PreparedImage {}
        assertNull(c.findEncoded("bytes-a"));
        c.rememberEncoded("bytes-a", new Prepared("pixels-a", 25));
        assertNull(c.findEncoded("bytes-a"), "remembered but nothing stored yet");
        float[] features = new float[100];
        c.put("pixels-a", features);
        VisionCache.CachedImage hit = c.findEncoded("bytes-a");
        assertEquals("pixels-a", hit.key());
        assertEquals(25, hit.tokens());
        assertSame(features, hit.value());
        assertEquals(1, c.hitCount());
        assertEquals(0, c.missCount(), "a find that fails is not a miss; the runner counts that image");
        c.put("pixels-b", new float[100]);
        c.put("pixels-c", new float[100]); // evicts pixels-a
        assertNull(c.findEncoded("bytes-a"));
    }
}
