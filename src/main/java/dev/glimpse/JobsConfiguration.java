package dev.glimpse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import dev.glimpse.api.ChatService;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.jobs.BatchKind;
import dev.glimpse.jobs.CaptionKind;
import dev.glimpse.jobs.Captioner;
import dev.glimpse.jobs.FileStore;
import dev.glimpse.jobs.JobRunner;
import dev.glimpse.jobs.JobStore;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import javax.sql.DataSource;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Durable jobs: the database (embedded file H2 under the data directory unless {@code spring.datasource.url} names
 * another, e.g. PostgreSQL), the file store, the job kinds and the runner that resumes unfinished jobs on start.
 */
@Configuration(proxyBeanMethods = false)
public class JobsConfiguration {

    /**
     * The H2 default: WRITE_DELAY=0 makes every commit reach the file before the commit returns, so a result the server
     * has reported survives a kill -9 (H2's default delays the write by up to 500 ms).
     */
    @Bean
    DataSource dataSource(Environment env, GlimpseProperties props) {
        HikariDataSource ds = new HikariDataSource();
        String url = env.getProperty("spring.datasource.url");
        if (url == null || url.isBlank()) {
            url = "jdbc:h2:file:" + props.dataDir().toAbsolutePath().resolve("db").resolve("glimpse")
                    + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
            ds.setUsername("sa");
            ds.setPassword("");
        } else {
            ds.setUsername(env.getProperty("spring.datasource.username"));
            ds.setPassword(env.getProperty("spring.datasource.password"));
        }
        ds.setJdbcUrl(url);
        ds.setPoolName("glimpse-db");
        ds.setMaximumPoolSize(8);
        return ds;
    }

    /** Marked so Spring Boot runs the Flyway migration before the store (and the runner) can touch the schema. */
    @Bean
    @DependsOnDatabaseInitialization
    JobStore jobStore(DataSource ds, PlatformTransactionManager txm) {
        return new JobStore(new JdbcTemplate(ds), new TransactionTemplate(txm));
    }

    @Bean
    FileStore fileStore(GlimpseProperties props) {
        return new FileStore(props.dataDir().resolve("files"));
    }

    /** Blocking per-item work of jobs (reading files, decoding images, tokenising), off the runner thread. */
    @Bean(destroyMethod = "shutdownNow")
    ExecutorService jobPrepareExecutor() {
        AtomicInteger n = new AtomicInteger();
        return Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "glimpse-job-prepare-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Bean
    BatchKind batchKind(ChatService chats, FileStore files, ObjectMapper json, ExecutorService jobPrepareExecutor,
                        GlimpseProperties props) {
        return new BatchKind(chats, files, json, jobPrepareExecutor, props.jobs().maxBatchLines());
    }

    @Bean
    CaptionKind captionKind(ServedModel served, FileStore files, ObjectMapper json, ExecutorService jobPrepareExecutor,
                            GlimpseProperties props) {
        Captioner captioner = new Captioner(served, jobPrepareExecutor, props.limits().maxImageBytes());
        GlimpseProperties.Jobs j = props.jobs();
        return new CaptionKind(captioner, files, props.dataDir().resolve("jobs"), json, j.maxZipBytes(), j.maxZipEntries());
    }

    @Bean(initMethod = "start", destroyMethod = "close")
    JobRunner jobRunner(JobStore store, BatchKind batches, CaptionKind captions, GlimpseProperties props) {
        return new JobRunner(store, List.of(batches, captions), props.jobs().maxInFlight(), Clock.systemUTC(), instanceId(props));
    }

    /**
     * Who claims jobs in a shared database: glimpse.jobs.instance-id, else host name + data directory, which a restarted
     * server keeps (so it takes its unfinished jobs back at once) and two servers on one machine do not share.
     */
    static String instanceId(GlimpseProperties props) {
        if (!props.jobs().instanceId().isBlank()) return props.jobs().instanceId();
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "localhost";
        }
        String id = host + ":" + props.dataDir().toAbsolutePath().normalize();
        return id.length() > 250 ? id.substring(0, 250) : id;
    }
}
