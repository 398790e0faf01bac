package dev.glimpse.api;

import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * One property set for every HTTP test class, so Spring reuses a single server context across them. The server runs the
 * random-weight parity checkpoint (card kimivl-random), whose greedy outputs are known from the PyTorch reference.
 */
final class ApiTestSupport {
    static final String MODEL = "kimivl-random";

    private ApiTestSupport() {}

    static void properties(DynamicPropertyRegistry r) {
        r.add("glimpse.data-dir", () -> "target/test-data");
        r.add("glimpse.model-dir", () -> "src/test/resources/model-cards");
        r.add("glimpse.model", () -> MODEL);
    }
}
