package dev.glimpse.api;

import org.springframework.test.context.DynamicPropertyRegistry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One property set for every HTTP test class, so Spring reuses a single server context across them. The server runs the
 * random-weight parity checkpoint (card kimivl-random), whose greedy outputs are known from the PyTorch reference.
 * Each Spring context gets its own fresh job database (two contexts on one database would be two servers sharing it);
 * the caption root and the graph cache under target/test-data are shared.
 */
final class ApiTestSupport {
    static final String MODEL = "kimivl-random";
    static final Path RUN_DIR;
    /** The one folder caption jobs may read in the tests. */
    static final Path CAPTION_ROOT;

    static {
        try {
            Files.createDirectories(Path.of("target"));
            RUN_DIR = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "api-test-");
            CAPTION_ROOT = Files.createDirectories(RUN_DIR.resolve("caption-root"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private ApiTestSupport() {}

    /** Called once per context that Spring builds. */
    static void properties(DynamicPropertyRegistry r) {
        properties(r, MODEL);
    }

    /** The same server serving another test card (its own Spring context). */
    static void properties(DynamicPropertyRegistry r, String model) {
        Path db;
        try {
            db = Files.createTempDirectory(RUN_DIR, "db-").resolve("glimpse");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        r.add("glimpse.data-dir", () -> "target/test-data");
        r.add("glimpse.model-dir", () -> "src/test/resources/model-cards");
        r.add("glimpse.model", () -> model);
        r.add("spring.datasource.url", () -> "jdbc:h2:file:" + db + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE");
        r.add("spring.datasource.username", () -> "sa");
        r.add("spring.datasource.password", () -> "");
        r.add("glimpse.jobs.caption-roots", CAPTION_ROOT::toString);
    }
}
