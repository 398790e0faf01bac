package dev.glimpse.jobs;

import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link JobStoreContract} on a real PostgreSQL server, named by {@code GLIMPSE_TEST_POSTGRES_URL}
 * ({@code jdbc:postgresql://127.0.0.1:5432/glimpse_test}) with {@code GLIMPSE_TEST_POSTGRES_USER} and
 * {@code GLIMPSE_TEST_POSTGRES_PASSWORD}; skipped when the URL is unset. {@code scripts/start-test-postgres.sh} starts a
 * local server and prints the URL; {@code .ci/run} does that and sets all three.
 *
 * <p>Each test migrates its own schema (a unique name, dropped afterwards), so runs never see each other's data.
 */
class JobStorePostgresTest extends JobStoreContract {

    static final String URL = System.getenv("GLIMPSE_TEST_POSTGRES_URL");
    static final String USER = System.getenv("GLIMPSE_TEST_POSTGRES_USER");
    static final String PASSWORD = System.getenv("GLIMPSE_TEST_POSTGRES_PASSWORD");

    private String schema;
    private HikariDataSource pool;

    @Override
    protected DataSource openFreshDatabase() {
        // here rather than in @BeforeAll so that every test is reported as skipped, with this message
        assumeTrue(URL != null && !URL.isBlank(), "GLIMPSE_TEST_POSTGRES_URL is not set, so the PostgreSQL job store "
                + "tests are skipped (scripts/start-test-postgres.sh starts a local server and prints the URL; .ci/run sets it)");
        schema = "glimpse_test_" + Long.toHexString(System.nanoTime()) + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        pool = new HikariDataSource();
        pool.setJdbcUrl(URL + (URL.contains("?") ? "&" : "?") + "currentSchema=" + schema);
        pool.setUsername(USER);
        pool.setPassword(PASSWORD);
        pool.setMaximumPoolSize(8);
        pool.setPoolName("jobstore-pg-test");
        return pool;
    }

    @Override
    protected Flyway flyway(DataSource ds) {
        // creates the schema, migrates it and keeps its history table there
        return Flyway.configure().dataSource(ds).schemas(schema).locations("classpath:db/migration").load();
    }

    @Override
    protected void dropDatabase() throws Exception {
        if (pool != null) pool.close();
        if (schema == null) return;
        Properties p = new Properties();
        if (USER != null) p.setProperty("user", USER);
        if (PASSWORD != null) p.setProperty("password", PASSWORD);
        try (Connection c = DriverManager.getConnection(URL, p); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    @Test
    void runsOnPostgresInItsOwnSchema() throws Exception {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            assertEquals("PostgreSQL", c.getMetaData().getDatabaseProductName());
            var rs = s.executeQuery("SELECT current_schema()");
            rs.next();
            assertEquals(schema, rs.getString(1));
            rs = s.executeQuery("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '" + schema
                    + "' AND table_name IN ('jobs', 'job_items', 'files')");
            rs.next();
            assertEquals(3, rs.getInt(1));
        }
    }
}
