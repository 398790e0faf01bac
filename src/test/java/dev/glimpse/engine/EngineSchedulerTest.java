package dev.glimpse.engine;

import dev.glimpse.error.GlimpseException;
import dev.glimpse.engine.FakeRunner.Decode;
import dev.glimpse.engine.FakeRunner.Leave;
import dev.glimpse.engine.FakeRunner.Prefill;
import dev.glimpse.engine.FakeRunner.Prepare;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The continuous-batching scheduler driven step by step over a {@link FakeRunner}: admission, chunked prefill, joining and
 * leaving the decode batch, finish reasons, cancellation, back-pressure, the KV budget, deadlines and failure isolation.
 * Every test ends with the fake reporting no contract violation and, once idle, no cache held.
 */
class EngineSchedulerTest {

    private final List<EngineHarness> harnesses = new ArrayList<>();

    private EngineHarness harness(EngineHarness h) {
        harnesses.add(h);
        return h;
    }

    @AfterEach
    void runnerContractHeld() {
        for (EngineHarness h : harnesses) assertThat(h.fake.violations).isEmpty();
    }

    private static int decodeSize(EngineHarness h, int step) {
        List<Decode> d = h.fake.decodesAt(step);
        return d.isEmpty() ? 0 : d.get(0).ids().size();
    }

    // 1 ------------------------------------------------------------------------------------------------------------------

    @Test
    void admitsInFifoOrderUpToMaxNumSeqs() {
        EngineHarness h = harness(EngineHarness.of(2, 16));
        h.submit("A", 3, 2);
        h.submit("B", 3, 10);
        h.submit("C", 3, 10);
        h.submit("D", 3, 10);

        h.step();
        assertThat(h.fake.prepares).containsExactly(new Prepare(1, List.of("A", "B")));
        assertThat(h.fake.prefills).containsExactly(new Prefill(1, "A", 0, 3), new Prefill(1, "B", 0, 3));
        assertThat(h.engine.runningCount()).isEqualTo(2);
        assertThat(h.engine.queueDepth()).isEqualTo(2);
        assertThat(h.futures.get("C")).isNotDone();
        assertThat(h.futures.get("D")).isNotDone();

        h.step(); // A's second token: max_tokens reached, A leaves at the end of this step
        assertThat(h.fake.decodes).containsExactly(new Decode(2, List.of("A", "B")));
        assertThat(h.fake.leaves).containsExactly(new Leave(2, List.of("A")));
        assertThat(h.result("A").finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(h.fake.prepares).hasSize(1); // nobody is admitted mid-step

        h.step(); // the freed slot goes to C, the head of the queue, not D
        assertThat(h.fake.prepares).containsExactly(new Prepare(1, List.of("A", "B")), new Prepare(3, List.of("C")));
        assertThat(h.engine.queueDepth()).isEqualTo(1);
        assertThat(h.engine.runningCount()).isEqualTo(2);
        assertThat(h.futures.get("D")).isNotDone();

        h.runUntilIdle(100);
        assertThat(h.fake.preparedIds()).containsExactly("A", "B", "C", "D");
        for (String id : List.of("B", "C", "D")) assertThat(h.result(id).completionTokens()).isEqualTo(10);
        assertThat(h.fake.cacheBytesInUse()).isZero();
        h.assertTokenBudget(16);
    }

    @Test
    void interactiveRequestsAreAdmittedBeforeWaitingBackgroundWork() {
        EngineHarness h = harness(EngineHarness.of(2, 16));
        h.submitBackground("J1", 3, 4);
        h.submitBackground("J2", 3, 4);
        h.submitBackground("J3", 3, 4);
        h.submit("I", 3, 2);   // arrives last, goes first

        h.step();
        assertThat(h.fake.prepares).containsExactly(new Prepare(1, List.of("I", "J1")));
        h.submit("K", 3, 2);   // another interactive one while J2 and J3 wait
        h.step();
        h.step();              // I is done after its 2 tokens; its slot goes to K, not to the older J2
        assertThat(h.fake.preparedIds()).containsExactly("I", "J1", "K");
        h.runUntilIdle(100);
        assertThat(h.fake.preparedIds()).containsExactly("I", "J1", "K", "J2", "J3");
        for (String id : List.of("J1", "J2", "J3")) assertThat(h.result(id).completionTokens()).isEqualTo(4);
    }

    @Test
    void backgroundWorkHasItsOwnQueueAndCannotFillTheInteractiveOne() {
        EngineHarness h = harness(new EngineHarness(1, 16, 2, 1L << 40, Duration.ofMinutes(5)));
        h.submitBackground("J1", 3, 2);
        h.submitBackground("J2", 3, 2);
        assertThatThrownBy(() -> h.submitBackground("J3", 3, 2))
                .isInstanceOfSatisfying(GlimpseException.class, e -> assertThat(e.status()).isEqualTo(429));
        h.submit("A", 3, 2);   // the interactive queue is still open
        h.submit("B", 3, 2);
        assertThat(h.engine.queueDepth()).isEqualTo(4);
        h.runUntilIdle(100);
        assertThat(h.fake.preparedIds()).containsExactly("A", "B", "J1", "J2");
    }

    // 2 ------------------------------------------------------------------------------------------------------------------

    @Test
    void chunksALongPromptUnderTheStepTokenBudget() {
        EngineHarness h = harness(EngineHarness.of(4, 10));
        h.submit("L", 25, 3);
        h.runUntilIdle(20);
        assertThat(h.fake.prefills).containsExactly(
                new Prefill(1, "L", 0, 10), new Prefill(2, "L", 10, 20), new Prefill(3, "L", 20, 25));
        assertThat(h.fake.decodes).containsExactly(new Decode(4, List.of("L")), new Decode(5, List.of("L")));
        assertThat(h.result("L").completionTokens()).isEqualTo(3);
        h.assertTokenBudget(10);
    }

    @Test
    void decodingSequencesShrinkThePrefillChunksAndKeepDecodingEveryStep() {
        EngineHarness h = harness(EngineHarness.of(4, 10));
        h.submit("A", 2, 50);
        h.submit("B", 2, 50);
        h.submit("C", 2, 50);
        h.step();
        assertThat(h.fake.prefills).containsExactly(
                new Prefill(1, "A", 0, 2), new Prefill(1, "B", 0, 2), new Prefill(1, "C", 0, 2));

        h.submit("L", 25, 5);
        for (int i = 0; i < 5; i++) h.step();
        // budget 10 - 3 decode tokens = 7 per step
        assertThat(h.fake.prefillsOf("L")).containsExactly(
                new Prefill(2, "L", 0, 7), new Prefill(3, "L", 7, 14), new Prefill(4, "L", 14, 21), new Prefill(5, "L", 21, 25));
        for (int step = 2; step <= 5; step++) {
            assertThat(h.fake.decodesAt(step)).as("step %d", step).containsExactly(new Decode(step, List.of("A", "B", "C")));
        }
        assertThat(h.fake.decodesAt(6)).containsExactly(new Decode(6, List.of("A", "B", "C", "L")));
        h.assertTokenBudget(10);
    }

    @Test
    void promptsPrefillingTogetherShareTheBudgetInArrivalOrder() {
        EngineHarness h = harness(EngineHarness.of(4, 10));
        h.submit("P", 8, 2);
        h.submit("Q", 8, 2);
        h.step();
        h.step();
        assertThat(h.fake.prefills).containsExactly(
                new Prefill(1, "P", 0, 8), new Prefill(1, "Q", 0, 2),
                new Prefill(2, "Q", 2, 8));
        // P finished its prompt in step 1 and decodes from step 2; its decode token counts against step 2's budget
        assertThat(h.fake.decodesAt(2)).containsExactly(new Decode(2, List.of("P")));
        h.runUntilIdle(10);
        h.assertTokenBudget(10);
    }

    // 3 ------------------------------------------------------------------------------------------------------------------

    @Test
    void sequencesJoinAndLeaveTheDecodeBatchOnlyAtStepBoundaries() {
        EngineHarness h = harness(EngineHarness.of(4, 32));
        h.submit("A", 4, 6);
        h.submit("B", 4, 3);
        h.step(); // prefill A, B (first token each); they decode from the next step
        assertThat(h.fake.decodes).isEmpty();
        assertThat(h.fake.joins).containsExactly("A", "B");
        h.step(); // decode A, B: 2 tokens each

        h.submit("C", 4, 3); // arrives mid-run
        h.step(); // C prefills while A, B decode; B reaches 3 tokens and leaves
        assertThat(h.fake.prefillsOf("C")).containsExactly(new Prefill(3, "C", 0, 4));
        assertThat(h.fake.decodesAt(3)).containsExactly(new Decode(3, List.of("A", "B")));
        h.step(); // C decodes with A in one batch
        assertThat(h.fake.decodesAt(4)).containsExactly(new Decode(4, List.of("A", "C")));
        h.runUntilIdle(10);

        List<Integer> sizes = new ArrayList<>();
        for (Decode d : h.fake.decodes) sizes.add(d.ids().size());
        assertThat(h.fake.decodes).extracting(Decode::step).containsExactly(2, 3, 4, 5, 6);
        assertThat(sizes).containsExactly(2, 2, 2, 2, 1);
        assertThat(h.fake.leaves).containsExactly(
                new Leave(3, List.of("B")), new Leave(5, List.of("C")), new Leave(6, List.of("A")));
        assertThat(h.registry.get("glimpse.decode.batch.size").summary().count()).isEqualTo(5);
        assertThat(h.registry.get("glimpse.decode.batch.size").summary().totalAmount()).isEqualTo(9);
        assertThat(h.result("A").completionTokens()).isEqualTo(6);
        assertThat(h.result("B").completionTokens()).isEqualTo(3);
        assertThat(h.result("C").completionTokens()).isEqualTo(3);
        h.assertTokenBudget(32);
    }

    @Test
    void aStepNeverProcessesMoreThanTheTokenBudget() {
        // Four prompts that exactly fill the budget: their first decode must wait for the next step, or the step would
        // process 10 prefill tokens plus 4 decode tokens.
        EngineHarness h = harness(EngineHarness.of(4, 10));
        for (String id : List.of("A", "B", "C", "D")) h.submit(id, 2, 4);
        h.submit("E", 2, 4);
        h.runUntilIdle(30);
        h.assertTokenBudget(10);
        for (String id : List.of("A", "B", "C", "D", "E")) assertThat(h.result(id).completionTokens()).isEqualTo(4);
    }

    // 4 ------------------------------------------------------------------------------------------------------------------

    @Test
    void finishReasonsAndUsage() {
        EngineHarness h = harness(EngineHarness.of(8, 64));
        h.fake.stopAt.put("S", 3);
        h.fake.stopAt.put("F", 0);
        h.submit("L", 7, 5);
        h.submit("S", 4, 10);
        h.submit("F", 5, 10); // stop token straight from the prefill logits
        h.submit("O", 6, 1);  // max_tokens 1: done after prefill, never decoded
        h.runUntilIdle(20);

        GenerationResult l = h.result("L");
        assertThat(l.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(l.completionTokens()).isEqualTo(5);
        assertThat(l.promptTokens()).isEqualTo(7);

        GenerationResult s = h.result("S");
        assertThat(s.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(s.completionTokens()).isEqualTo(4); // three tokens and the stop token
        assertThat(s.promptTokens()).isEqualTo(4);

        GenerationResult f = h.result("F");
        assertThat(f.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(f.completionTokens()).isEqualTo(1);
        assertThat(f.promptTokens()).isEqualTo(5);

        GenerationResult o = h.result("O");
        assertThat(o.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(o.completionTokens()).isEqualTo(1);

        assertThat(h.fake.joins).containsExactly("L", "S"); // F and O finished in prefill
        assertThat(h.fake.leftIds()).containsExactlyInAnyOrder("L", "S", "F", "O");
        assertThat(h.fake.decodes).allSatisfy(d -> assertThat(d.ids()).doesNotContain("F", "O"));
        assertThat(h.fake.cacheBytesInUse()).isZero();
    }

    @Test
    void textAndStopStringsWithATokenizer() {
        EngineHarness h = harness(new EngineHarness(EngineConfig.defaults(), EngineHarness.fixtureTokenizer()));
        // first prompt id 0: the fake's tokens are 32, 33, 34, ... = "ABCDEFG..." in the fixture tokenizer
        StringBuilder streamed = new StringBuilder();
        h.submit(EngineHarness.request("plain", 3, 4, 0), d -> { streamed.append(d); return true; }, () -> false);
        StringBuilder stopped = new StringBuilder();
        h.submit(EngineHarness.request("stop", 3, new SamplingParams(0, 1, 0, 10, null, List.of("DE")), 0),
                d -> { stopped.append(d); return true; }, () -> false);
        h.runUntilIdle(20);

        assertThat(h.result("plain").text()).isEqualTo("ABCD");
        assertThat(streamed).hasToString("ABCD");
        GenerationResult r = h.result("stop");
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(r.text()).isEqualTo("ABC");
        assertThat(stopped).hasToString("ABC");
        assertThat(r.completionTokens()).isEqualTo(5); // A B C D E: the stop string completes with E
    }

    // 5 ------------------------------------------------------------------------------------------------------------------

    @Test
    void cancellingADecodingSequenceFreesItAtTheNextStep() {
        EngineHarness h = harness(EngineHarness.of(4, 32));
        AtomicBoolean cancelB = new AtomicBoolean();
        h.submit("A", 2, 20);
        h.submit(EngineHarness.request("B", 2, 20), TokenSink.NONE, cancelB::get);
        h.submit("C", 2, 20);
        h.step();
        h.step();
        assertThat(h.fake.decodesAt(2)).containsExactly(new Decode(2, List.of("A", "B", "C")));

        cancelB.set(true);
        h.step();
        assertThat(h.fake.leaves).containsExactly(new Leave(3, List.of("B")));
        assertThat(h.fake.decodesAt(3)).containsExactly(new Decode(3, List.of("A", "C")));
        GenerationResult b = h.result("B");
        assertThat(b.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(b.completionTokens()).isEqualTo(2);
        assertThat(h.engine.cancelledCount()).isEqualTo(1);

        h.runUntilIdle(30);
        assertThat(h.result("A").completionTokens()).isEqualTo(20);
        assertThat(h.result("C").completionTokens()).isEqualTo(20);
        assertThat(h.fake.decodes).filteredOn(d -> d.step() > 3).allSatisfy(d -> assertThat(d.ids()).containsExactly("A", "C"));
        assertThat(h.fake.cacheBytesInUse()).isZero();
    }

    @Test
    void aCancelledWaitingRequestNeverReachesTheRunner() {
        EngineHarness h = harness(EngineHarness.of(1, 8));
        AtomicBoolean cancelW = new AtomicBoolean();
        h.submit("A", 2, 5);
        h.submit(EngineHarness.request("W", 2, 5), TokenSink.NONE, cancelW::get);
        h.step();
        assertThat(h.engine.queueDepth()).isEqualTo(1);
        cancelW.set(true);
        h.step();
        assertThat(h.result("W").finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(h.result("W").completionTokens()).isZero();
        assertThat(h.engine.queueDepth()).isZero();
        h.runUntilIdle(20);
        assertThat(h.fake.preparedIds()).containsExactly("A");
        assertThat(h.fake.prefills).extracting(Prefill::id).containsOnly("A");
        assertThat(h.fake.leftIds()).containsExactly("A");
        assertThat(h.engine.cancelledCount()).isEqualTo(1);
    }

    @Test
    void aSinkThatRefusesTextCancelsItsSequence() {
        EngineHarness h = harness(new EngineHarness(new EngineConfig(4, 32, 8, 1L << 30, Duration.ofMinutes(1)),
                EngineHarness.fixtureTokenizer()));
        AtomicInteger calls = new AtomicInteger();
        h.submit(EngineHarness.request("gone", 3, 10, 0), d -> calls.incrementAndGet() < 2, () -> false);
        h.submit(EngineHarness.request("stays", 3, 10, 5), TokenSink.NONE, () -> false);
        h.step(); // first token from prefill: delivered
        h.step(); // second token: the sink refuses it
        GenerationResult r = h.result("gone");
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(r.completionTokens()).isEqualTo(2);
        assertThat(calls).hasValue(2);
        assertThat(h.fake.leaves).containsExactly(new Leave(2, List.of("gone")));
        h.runUntilIdle(20);
        assertThat(h.fake.decodesAt(3)).containsExactly(new Decode(3, List.of("stays")));
        assertThat(h.result("stays").completionTokens()).isEqualTo(10);
        assertThat(h.result("stays").text()).isEqualTo("FGHIJKLMNO");
    }

    // 6 ------------------------------------------------------------------------------------------------------------------

    @Test
    void aFullQueueRefusesWith429UntilAStepAdmits() {
        EngineHarness h = harness(new EngineHarness(4, 32, 2, 1L << 30, Duration.ofMinutes(1)));
        h.submit("A", 2, 3);
        h.submit("B", 2, 3);
        assertThatThrownBy(() -> h.submit("C", 2, 3))
                .isInstanceOfSatisfying(GlimpseException.class, e -> {
                    assertThat(e.status()).isEqualTo(429);
                    assertThat(e.code()).isEqualTo("server_overloaded");
                });
        assertThat(h.engine.queueDepth()).isEqualTo(2);
        h.step();
        assertThat(h.engine.queueDepth()).isZero();
        h.submit("C", 2, 3);
        h.submit("D", 2, 3);
        assertThatThrownBy(() -> h.submit("E", 2, 3))
                .isInstanceOfSatisfying(GlimpseException.class, e -> assertThat(e.status()).isEqualTo(429));
        h.runUntilIdle(20);
        assertThat(h.fake.preparedIds()).containsExactly("A", "B", "C", "D");
    }

    // 7 ------------------------------------------------------------------------------------------------------------------

    @Test
    void theKvBudgetAdmitsInFifoOrderAndRefusesWhatCanNeverFit() {
        long bpt = FakeRunner.BYTES_PER_TOKEN;
        EngineHarness h = harness(new EngineHarness(8, 64, 8, 30 * bpt, Duration.ofMinutes(1)));
        h.submit("A", 10, 10); // 20 tokens
        h.submit("B", 10, 10); // 20 tokens: waits for A
        h.submit("C", 2, 2);   // 4 tokens would fit beside A, but must not overtake B
        h.step();
        assertThat(h.fake.prepares).containsExactly(new Prepare(1, List.of("A")));
        assertThat(h.gauge("glimpse.kv.cache.reserved.bytes")).isEqualTo(20.0 * bpt);
        assertThat(h.engine.queueDepth()).isEqualTo(2);

        for (int i = 0; i < 9; i++) assertThat(h.step()).isTrue(); // A decodes tokens 2..10 in steps 2..10
        assertThat(h.result("A").completionTokens()).isEqualTo(10);
        assertThat(h.fake.prepares).hasSize(1);
        assertThat(h.fake.leaves).containsExactly(new Leave(10, List.of("A")));

        h.step();
        assertThat(h.fake.prepares).containsExactly(new Prepare(1, List.of("A")), new Prepare(11, List.of("B", "C")));
        assertThat(h.gauge("glimpse.kv.cache.reserved.bytes")).isEqualTo(24.0 * bpt);

        assertThatThrownBy(() -> h.submit("X", 20, 11))
                .isInstanceOfSatisfying(GlimpseException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.code()).isEqualTo("context_length_exceeded");
                    assertThat(e.param()).isEqualTo("max_tokens");
                });
        h.submit("Y", 15, 15); // exactly the whole budget: accepted, admitted once B and C are gone
        h.runUntilIdle(50);
        assertThat(h.fake.preparedIds()).containsExactly("A", "B", "C", "Y");
        assertThat(h.result("Y").completionTokens()).isEqualTo(15);
        assertThat(h.fake.peakBytes()).isLessThanOrEqualTo(30 * bpt);
        assertThat(h.gauge("glimpse.kv.cache.reserved.bytes")).isZero();
        assertThat(h.gauge("glimpse.kv.cache.bytes")).isZero();
    }

    // 8 ------------------------------------------------------------------------------------------------------------------

    @Test
    void aWaitingRequestPastItsDeadlineFailsWith504WithoutReachingTheRunner() throws InterruptedException {
        EngineHarness h = harness(new EngineHarness(4, 32, 8, 1L << 30, Duration.ofMillis(2)));
        h.submit("W", 3, 5);
        Thread.sleep(20);
        h.step();
        GlimpseException e = EngineHarness.glimpse(h.failure("W"));
        assertThat(e.status()).isEqualTo(504);
        assertThat(e.code()).isEqualTo("request_timeout");
        assertThat(h.fake.prepares).isEmpty();
        assertThat(h.fake.prefills).isEmpty();
        assertThat(h.fake.leaves).isEmpty();
        assertThat(h.engine.queueDepth()).isZero();
        assertThat(h.step()).isFalse();
    }

    @Test
    void aRunningRequestPastItsDeadlineFailsWith504AndFreesItsCache() throws InterruptedException {
        EngineHarness h = harness(new EngineHarness(4, 32, 8, 1L << 30, Duration.ofMillis(400)));
        h.submit("R", 3, 1000);
        h.step();
        h.step();
        Thread.sleep(450);
        h.step();
        GlimpseException e = EngineHarness.glimpse(h.failure("R"));
        assertThat(e.status()).isEqualTo(504);
        assertThat(h.fake.leftIds()).containsExactly("R");
        assertThat(h.gauge("glimpse.kv.cache.reserved.bytes")).isZero();
        assertThat(h.fake.cacheBytesInUse()).isZero();
        assertThat(h.step()).isFalse();
    }

    // 9 ------------------------------------------------------------------------------------------------------------------

    @Test
    void aPrefillFailureFailsOnlyThatSequence() {
        EngineHarness h = harness(EngineHarness.of(4, 32));
        h.fake.prefillFailsFor.add("B");
        h.submit("A", 3, 4);
        h.submit("B", 3, 4);
        h.submit("C", 3, 4);
        h.runUntilIdle(20);
        assertThat(h.failure("B")).isInstanceOf(IllegalStateException.class).hasMessageContaining("fake prefill failure for B");
        assertThat(h.result("A").completionTokens()).isEqualTo(4);
        assertThat(h.result("C").completionTokens()).isEqualTo(4);
        assertThat(h.fake.leaves.get(0)).isEqualTo(new Leave(1, List.of("B")));
        assertThat(h.fake.decodes).allSatisfy(d -> assertThat(d.ids()).containsExactly("A", "C"));
        assertThat(h.registry.get("glimpse.requests").tag("outcome", "failed").counter().count()).isEqualTo(1);
        assertThat(h.gauge("glimpse.kv.cache.reserved.bytes")).isZero();
        assertThat(h.fake.cacheBytesInUse()).isZero();
    }

    @Test
    void aPrepareFailureFailsItsBatchAndReleasesTheReservation() {
        long bpt = FakeRunner.BYTES_PER_TOKEN;
        EngineHarness h = harness(new EngineHarness(4, 32, 8, 20 * bpt, Duration.ofMinutes(1)));
        h.fake.prepareFailsFor.add("X");
        h.submit("X", 10, 10); // the whole KV budget
        h.step();
        assertThat(h.failure("X")).hasMessageContaining("fake prepare failure for X");
        assertThat(h.fake.prefills).isEmpty();
        assertThat(h.gauge("glimpse.kv.cache.reserved.bytes")).isZero();

        h.submit("Y", 10, 10); // needs the whole budget again: admitted only if X's reservation was given back
        h.runUntilIdle(20);
        assertThat(h.result("Y").completionTokens()).isEqualTo(10);
        assertThat(h.fake.preparedIds()).containsExactly("X", "Y");
        assertThat(h.step()).isFalse();
    }

    @Test
    void aJoinFailureFailsOnlyThatSequence() {
        EngineHarness h = harness(EngineHarness.of(4, 32));
        h.fake.joinFailsFor.add("B");
        h.submit("A", 3, 4);
        h.submit("B", 3, 4);
        h.submit("C", 3, 4);
        h.runUntilIdle(20);
        assertThat(h.failure("B")).hasMessageContaining("fake join failure for B");
        assertThat(h.result("A").completionTokens()).isEqualTo(4);
        assertThat(h.result("C").completionTokens()).isEqualTo(4);
        assertThat(h.fake.leftIds()).contains("B");
        assertThat(h.gauge("glimpse.kv.cache.reserved.bytes")).isZero();
        assertThat(h.fake.cacheBytesInUse()).isZero();
    }

    @Test
    void aDecodeFailureFailsTheBatchButNotLaterRequests() {
        EngineHarness h = harness(EngineHarness.of(4, 32));
        h.fake.decodeFailsAtStep = 2;
        h.submit("A", 3, 4);
        h.submit("B", 3, 4);
        h.step();
        h.step(); // the batched decode throws: every sequence in it fails and leaves
        assertThat(h.failure("A")).hasMessageContaining("fake decode failure");
        assertThat(h.failure("B")).hasMessageContaining("fake decode failure");
        assertThat(h.fake.leaves).containsExactly(new Leave(2, List.of("A", "B")));
        h.submit("C", 3, 4);
        h.runUntilIdle(20);
        assertThat(h.result("C").completionTokens()).isEqualTo(4);
        assertThat(h.gauge("glimpse.kv.cache.reserved.bytes")).isZero();
        assertThat(h.fake.cacheBytesInUse()).isZero();
    }

    // 11 -----------------------------------------------------------------------------------------------------------------

    @Test
    void metricsCountTokensAndRequestsAndGaugesReturnToZero() {
        EngineHarness h = harness(EngineHarness.of(4, 32));
        h.fake.stopAt.put("S", 2);
        h.submit("A", 3, 2);
        h.submit("B", 5, 3);
        h.submit("C", 2, 4);
        h.submit("S", 2, 9); // stops on its 3rd token
        h.step();
        assertThat(h.gauge("glimpse.running.sequences")).isEqualTo(4);
        h.runUntilIdle(20);

        int total = 0;
        for (String id : List.of("A", "B", "C", "S")) total += h.result(id).completionTokens();
        assertThat(total).isEqualTo(2 + 3 + 4 + 3);
        assertThat(h.registry.get("glimpse.generated.tokens").counter().count()).isEqualTo(total);
        assertThat(h.registry.get("glimpse.time.to.first.token").timer().count()).isEqualTo(4);
        assertThat(h.registry.get("glimpse.inter.token.latency").timer().count()).isEqualTo(total - 4);
        assertThat(h.registry.get("glimpse.request.latency").timer().count()).isEqualTo(4);
        assertThat(h.registry.get("glimpse.requests").tag("outcome", "finished").counter().count()).isEqualTo(4);
        assertThat(h.gauge("glimpse.queue.depth")).isZero();
        assertThat(h.gauge("glimpse.running.sequences")).isZero();
        assertThat(h.gauge("glimpse.kv.cache.bytes")).isZero();
        assertThat(h.gauge("glimpse.kv.cache.reserved.bytes")).isZero();
        assertThat(h.engine.lastCompletionTokens()).isBetween(2, 4);
    }
}
