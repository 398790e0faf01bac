package dev.glimpse.jobs;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The progress bar of the {@code caption} command on stderr:
 * {@code [########............] 120/300 images (40 resumed)  24.1 img/s  ETA 0:07  failed 1}. On a terminal it is redrawn in
 * place ('\r') at most ten times a second; otherwise (a log file, a pipe) it is printed as a plain line every few seconds.
 * The rate and ETA count only the images of this run.
 */
final class CaptionProgress {

    private static final int WIDTH = 20;
    private static final long TERMINAL_INTERVAL_NS = 100_000_000L;
    private static final long PLAIN_INTERVAL_NS = 5_000_000_000L;

    private final PrintStream err;
    private final boolean terminal;
    private final int total;
    private final int resumed;
    private final long start = System.nanoTime();
    private long lastDraw = start;
    private int drawnLength;
    private int done;
    private int failed;
    private long ended;

    /**
     * @param total   every file of the input, resumed ones included
     * @param resumed files already in the output when the run started
     */
    CaptionProgress(PrintStream err, boolean terminal, int total, int resumed) {
        this.err = err;
        this.terminal = terminal;
        this.total = total;
        this.resumed = resumed;
    }

    /** One image of this run finished (its line is written). */
    void finished(boolean ok) {
        done++;
        if (!ok) failed++;
    }

    int done() { return done; }
    int failed() { return failed; }

    /** Seconds since the run started, up to {@link #end} once it is called. */
    double seconds() {
        return ((ended != 0 ? ended : System.nanoTime()) - start) / 1e9;
    }

    /** Images of this run per second so far. */
    double rate() {
        double s = seconds();
        return s > 0 ? done / s : 0;
    }

    /** Draws the bar if the last drawing is old enough. */
    void tick() {
        long now = System.nanoTime();
        if (now - lastDraw >= (terminal ? TERMINAL_INTERVAL_NS : PLAIN_INTERVAL_NS)) {
            lastDraw = now;
            draw();
        }
    }

    /** Draws the bar a last time and ends its line. */
    void end() {
        ended = System.nanoTime();
        draw();
        if (terminal) {
            err.println();
            err.flush();
        }
    }

    private void draw() {
        String line = line();
        if (terminal) {
            // '\r' goes back to the start of the line; spaces erase what is left of a longer previous drawing.
            err.print("\r" + line + " ".repeat(Math.max(0, drawnLength - line.length())));
            drawnLength = line.length();
        } else {
            err.println(line);
        }
        err.flush();
    }

    String line() {
        int finished = resumed + done;
        int filled = total == 0 ? WIDTH : (int) ((long) finished * WIDTH / total);
        double rate = rate();
        int left = total - finished;
        String eta = done == 0 || rate <= 0 ? "--:--" : clock(Math.round(left / rate));
        return String.format(Locale.ROOT, "[%s%s] %d/%d images%s  %.1f img/s  ETA %s  failed %d",
                "#".repeat(filled), ".".repeat(WIDTH - filled), finished, total,
                resumed > 0 ? " (" + resumed + " resumed)" : "", rate, eta, failed);
    }

    /** 7 -> 0:07, 3725 -> 1:02:05. */
    static String clock(long seconds) {
        long h = seconds / 3600;
        long m = seconds / 60 % 60;
        long s = seconds % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, s) : String.format(Locale.ROOT, "%d:%02d", m, s);
    }
}
