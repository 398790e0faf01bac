package dev.glimpse.engine;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class StopStringMatcherTest {

    @Test
    void stopStringSplitAcrossPushesIsNeverPartlyEmitted() {
        StopStringMatcher m = new StopStringMatcher(List.of("END"));
        StringBuilder sent = new StringBuilder();
        sent.append(m.push("Hello E"));
        assertEquals("Hello", sent.toString()); // the last len("END") - 1 = 2 chars are held back
        sent.append(m.push("N"));
        assertEquals("Hello ", sent.toString()); // "EN" held back
        assertFalse(m.stopped());
        assertFalse(m.stopped());
        sent.append(m.push("D and more"));
        assertTrue(m.stopped());
        assertEquals("Hello ", sent.toString());
        assertEquals("Hello ", m.text());
        assertFalse(sent.toString().contains("E"));
    }

    @Test
    void oneCharAtATimeReleasesEverythingBeforeTheStop() {
        StopStringMatcher m = new StopStringMatcher(List.of("</s>"));
        String stream = "The answer is 42.</s>ignored";
        StringBuilder sent = new StringBuilder();
        for (int i = 0; i < stream.length() && !m.stopped(); i++) {
            String out = m.push(stream.substring(i, i + 1));
            sent.append(out);
            // Never more than len("</s>") - 1 = 3 chars behind the generated text.
            assertTrue(i + 1 - sent.length() <= 3 || m.stopped(), "held back too much at " + i);
            assertFalse(sent.toString().contains("<"), sent.toString());
        }
        assertTrue(m.stopped());
        assertEquals("The answer is 42.", sent.toString());
        assertEquals("", m.finish());
    }

    @Test
    void textBeforeAStopInTheSamePushIsReleased() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        assertEquals("abc", m.push("abcSTOPdef"));
        assertTrue(m.stopped());
    }

    @Test
    void afterStopFurtherPushesEmitNothing() {
        StopStringMatcher m = new StopStringMatcher(List.of("\n\n"));
        assertEquals("line", m.push("line\n\nmore"));
        assertEquals("", m.push("even more text that is long"));
        assertEquals("", m.push("\n\n"));
        assertEquals("", m.finish());
        assertEquals("line", m.text());
    }

    @Test
    void finishReleasesHeldBackTextWhenNoStopAppears() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        String a = m.push("go ST");
        String b = m.push("O");
        assertEquals("go", a); // the last len("STOP") - 1 = 3 chars are held back
        assertEquals(" ", b);  // "STO" held back
        assertFalse(m.stopped());
        assertEquals("STO", m.finish());
        assertEquals("go STO", m.text());
        assertEquals("", m.finish()); // nothing released twice
    }

    @Test
    void aFalseStartIsReleasedOnceItCannotBeAStop() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        StringBuilder sent = new StringBuilder();
        sent.append(m.push("STO"));
        sent.append(m.push("RE is open today"));
        assertFalse(m.stopped());
        sent.append(m.finish());
        assertEquals("STORE is open today", sent.toString());
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopStringMatcher m = new StopStringMatcher(List.of("zzz", "b", "cd"));
        assertEquals("a", m.push("acdbzzz"));
        assertEquals("a", m.text());

        // The later-listed but earlier-occurring stop wins across pushes too.
        StopStringMatcher n = new StopStringMatcher(List.of("LONGSTOP", "X"));
        StringBuilder sent = new StringBuilder();
        sent.append(n.push("one LONGS"));
        sent.append(n.push("X LONGSTOP"));
        assertTrue(n.stopped());
        assertEquals("one LONGS", sent.toString());
    }

    @Test
    void noStopsReleasesEverythingAtOnce() {
        StopStringMatcher m = new StopStringMatcher(List.of());
        assertEquals("abc", m.push("abc"));
        assertEquals("d", m.push("d"));
        assertEquals("", m.finish());
        assertFalse(m.stopped());
    }

    @Test
    void aSurrogatePairIsNotSplit() {
        String smile = "\uD83D\uDE00"; // U+1F600, two UTF-16 chars
        StopStringMatcher m = new StopStringMatcher(List.of("ab")); // holds back 1 char
        // After "x" + high surrogate the hold-back boundary falls between the two halves of the pair.
        String first = m.push("x" + smile.charAt(0));
        assertEquals("x", first);
        String second = m.push(String.valueOf(smile.charAt(1)));
        // The low surrogate is held back; releasing the high one alone would be a lone surrogate.
        assertEquals("", second);
        String third = m.push("y");
        assertEquals(smile, third);
        assertEquals("y", m.finish());

        // Hold-back boundary exactly after a whole pair: the pair goes out in one piece.
        StopStringMatcher n = new StopStringMatcher(List.of("abc")); // holds back 2 chars
        StringBuilder sent = new StringBuilder();
        for (String d : new String[]{"q", smile, "r", smile, smile, "s"}) {
            String out = n.push(d);
            if (!out.isEmpty()) {
                assertFalse(Character.isHighSurrogate(out.charAt(out.length() - 1)), "ends with a lone high surrogate: " + out);
                assertFalse(Character.isLowSurrogate(out.charAt(0)), "starts with a lone low surrogate: " + out);
            }
            sent.append(out);
        }
        sent.append(n.finish());
        assertEquals("q" + smile + "r" + smile + smile + "s", sent.toString());
    }
}
