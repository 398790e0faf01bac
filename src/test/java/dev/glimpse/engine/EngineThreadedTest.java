package dev.glimpse.engine;

import dev.glimpse.error.GlimpseException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The engine on its own thread: concurrent submitters, then a graceful shutdown. */
class EngineThreadedTest {

    @Test
    @Timeout(60)
    void concurrentSubmittersAllCompleteAndShutdownDrainsInFlightRequests() throws Exception {
        EngineHarness h = new EngineHarness(4, 16, 16, 1L << 30, Duration.ofMinutes(1));
        Engine engine = h.engine.start();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<CompletableFuture<GenerationResult>>> submitted = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int n = i;
                submitted.add(pool.submit(() -> {
                    go.await();
                    return engine.submit(EngineHarness.request("t" + n, 3 + n, 5 + n, n), TokenSink.NONE, () -> false);
                }));
            }
            go.countDown();
            for (int i = 0; i < 8; i++) {
                GenerationResult r = submitted.get(i).get(30, TimeUnit.SECONDS).get(30, TimeUnit.SECONDS);
                assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
                assertThat(r.completionTokens()).as("t%d", i).isEqualTo(5 + i);
                assertThat(r.promptTokens()).isEqualTo(3 + i);
            }
            // All 8 reached the runner; at most max-num-seqs = 4 were ever in flight at once.
            assertThat(h.fake.preparedIds()).hasSize(8);
            assertThat(h.fake.decodes).allSatisfy(d -> assertThat(d.ids()).hasSizeLessThanOrEqualTo(4));

            // In flight at shutdown: these must still finish.
            List<CompletableFuture<GenerationResult>> late = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                late.add(engine.submit(EngineHarness.request("late" + i, 4, 40, i), TokenSink.NONE, () -> false));
            }
            engine.shutdown(30, TimeUnit.SECONDS);
            for (CompletableFuture<GenerationResult> f : late) {
                assertThat(f).isCompleted();
                assertThat(f.get().finishReason()).isEqualTo(FinishReason.LENGTH);
                assertThat(f.get().completionTokens()).isEqualTo(40);
            }
            assertThatThrownBy(() -> engine.submit(EngineHarness.request("after", 2, 2, 0), TokenSink.NONE, () -> false))
                    .isInstanceOfSatisfying(GlimpseException.class, e -> assertThat(e.status()).isEqualTo(503));
            assertThat(h.fake.violations).isEmpty();
            assertThat(h.fake.cacheBytesInUse()).isZero();
            assertThat(engine.runningCount()).isZero();
            assertThat(engine.queueDepth()).isZero();
        } finally {
            pool.shutdownNow();
            engine.shutdown(5, TimeUnit.SECONDS);
        }
    }
}
