package dev.glimpse.jobs;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.sql.DataSource;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link JobStoreContract} on the embedded H2 file database the server uses by default (same URL options). */
class JobStoreH2Test extends JobStoreContract {

    @TempDir
    Path dir;

    private HikariDataSource pool;

    @Override
    protected DataSource openFreshDatabase() {
        pool = new HikariDataSource();
        // as JobsConfiguration builds it
        pool.setJdbcUrl("jdbc:h2:file:" + dir.toAbsolutePath().resolve("db").resolve("glimpse") + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE");
        pool.setUsername("sa");
        pool.setPassword("");
        pool.setMaximumPoolSize(8);
        pool.setPoolName("jobstore-h2-test");
        return pool;
    }

    @Override
    protected void dropDatabase() {
        if (pool != null) pool.close();   // the last connection closes the database; @TempDir removes the files
    }

    @Test
    void runsOnH2() throws Exception {
        try (var c = ds.getConnection()) {
            assertEquals("H2", c.getMetaData().getDatabaseProductName());
        }
    }
}
