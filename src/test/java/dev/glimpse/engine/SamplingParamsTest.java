package dev.glimpse.engine;

import dev.glimpse.error.GlimpseException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class SamplingParamsTest {

    static void invalid(String param, Executable make) {
        GlimpseException e = assertThrows(GlimpseException.class, make);
        assertEquals(400, e.status());
        assertEquals("invalid_request_error", e.type());
        assertEquals("invalid_value", e.code());
        assertEquals(param, e.param());
        assertTrue(e.getMessage().contains(param), e.getMessage());
    }

    @Test
    void temperature() {
        invalid("temperature", () -> new SamplingParams(-0.01, 1, 0, 1, null, null));
        invalid("temperature", () -> new SamplingParams(Double.NaN, 1, 0, 1, null, null));
        invalid("temperature", () -> new SamplingParams(Double.POSITIVE_INFINITY, 1, 0, 1, null, null));
    }

    @Test
    void topP() {
        invalid("top_p", () -> new SamplingParams(1, 0, 0, 1, null, null));
        invalid("top_p", () -> new SamplingParams(1, -0.5, 0, 1, null, null));
        invalid("top_p", () -> new SamplingParams(1, 1.0001, 0, 1, null, null));
        invalid("top_p", () -> new SamplingParams(1, Double.NaN, 0, 1, null, null));
    }

    @Test
    void topK() {
        invalid("top_k", () -> new SamplingParams(1, 1, -1, 1, null, null));
    }

    @Test
    void maxTokens() {
        invalid("max_tokens", () -> new SamplingParams(1, 1, 0, 0, null, null));
        invalid("max_tokens", () -> new SamplingParams(1, 1, 0, -7, null, null));
        invalid("max_tokens", () -> new SamplingParams(1, 1, 0, 16, null, null).withMaxTokens(0));
    }

    @Test
    void stop() {
        invalid("stop", () -> new SamplingParams(1, 1, 0, 1, null, List.of("a", "b", "c", "d", "e")));
        invalid("stop", () -> new SamplingParams(1, 1, 0, 1, null, List.of("a", "")));
    }

    @Test
    void validValuesAndDefaults() {
        SamplingParams p = new SamplingParams(0, 1, 0, 1, null, null);
        assertTrue(p.greedy());
        assertEquals(List.of(), p.stop());
        SamplingParams q = new SamplingParams(0.7, 0.01, 50, 8, 3L, List.of("a", "b", "c", "d"));
        assertFalse(q.greedy());
        assertEquals(4, q.stop().size());
        SamplingParams r = q.withMaxTokens(99);
        assertEquals(99, r.maxTokens());
        assertEquals(0.7, r.temperature());
        assertEquals(0.01, r.topP());
        assertEquals(50, r.topK());
        assertEquals(3L, r.seed());
        assertEquals(q.stop(), r.stop());
    }

    @Test
    void stopListIsCopied() {
        List<String> stops = new ArrayList<>(List.of("x"));
        SamplingParams p = new SamplingParams(0, 1, 0, 1, null, stops);
        stops.add("y");
        assertEquals(List.of("x"), p.stop());
        assertThrows(UnsupportedOperationException.class, () -> p.stop().add("z"));
    }
}
