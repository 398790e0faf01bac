package dev.glimpse.api;

import org.springframework.test.context.DynamicPropertyRegistry;

/** One property set for every HTTP test class, so Spring reuses a single server context across them. */
final class ApiTestSupport {
    private ApiTestSupport() {}

    static void properties(DynamicPropertyRegistry r) {
        r.add("glimpse.data-dir", () -> "target/test-data");
    }
}
