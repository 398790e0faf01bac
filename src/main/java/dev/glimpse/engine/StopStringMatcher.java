package dev.glimpse.engine;

import java.util.List;

/**
 * Finds stop strings in streamed text. Text that could still be the start of a stop string is held back, so a client
 * never receives part of a stop string; once a stop string completes, everything before it is released and the rest is
 * dropped.
 */
final class StopStringMatcher {

    private final List<String> stops;
    private final int holdBack;
    private final StringBuilder text = new StringBuilder();
    private int emitted;
    private boolean stopped;

    StopStringMatcher(List<String> stops) {
        this.stops = stops;
        int longest = 0;
        for (String s : stops) longest = Math.max(longest, s.length());
        this.holdBack = Math.max(0, longest - 1);
    }

    /** Appends generated text; returns what may now be sent to the client. */
    String push(String delta) {
        if (stopped) return "";
        text.append(delta);
        int searchFrom = Math.max(0, emitted - holdBack);
        int cut = -1;
        for (String s : stops) {
            int i = text.indexOf(s, searchFrom);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0) {
            stopped = true;
            text.setLength(cut);
            return release(cut);
        }
        return release(Math.max(emitted, text.length() - holdBack));
    }

    /** End of generation without a stop string: release what was held back. */
    String finish() {
        return release(text.length());
    }

    boolean stopped() {
        return stopped;
    }

    /** The full text so far, stop string excluded. */
    String text() {
        return text.toString();
    }

    private String release(int upTo) {
        // Never split a surrogate pair when holding back.
        if (upTo < text.length() && upTo > emitted && Character.isHighSurrogate(text.charAt(upTo - 1))) upTo--;
        if (upTo <= emitted) return "";
        String out = text.substring(emitted, upTo);
        emitted = upTo;
        return out;
    }
}
