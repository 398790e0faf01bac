package dev.glimpse.ocr;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * Reading order for detected boxes: top to bottom, left to right, with boxes on the same visual line grouped.
 *
 * <p>Boxes are taken in order of their vertical centre. A box joins a line when its vertical centre lies within the
 * line's vertical span shrunk to its middle (the span of the boxes already on the line, less a quarter of the line's
 * median box height at top and bottom), its height is compatible (neither more than twice the other) and it does not sit
 * above or below a box of the line (horizontal overlap over half the narrower box); of several such lines the one whose
 * centre is closest wins, and a box that joins none starts a new line. Lines are ordered by their mean vertical centre. Within a line boxes are ordered by their left edge. This tolerates the few degrees of
 * skew a photographed page has, where PaddleOCR's fixed 10-pixel rule either splits a skewed line or merges two tight ones.
 */
public final class ReadingOrder {

    private ReadingOrder() {
    }

    /** Groups items into lines (each left to right), lines top to bottom. */
    public static <T> List<List<T>> lines(List<T> items, Function<T, Quad> quadOf) {
        List<T> sorted = new ArrayList<>(items);
        sorted.sort(Comparator.comparingDouble((T t) -> quadOf.apply(t).centerY())
                .thenComparingDouble(t -> quadOf.apply(t).minX()));
        List<Line<T>> lines = new ArrayList<>();
        for (T item : sorted) {
            Quad q = quadOf.apply(item);
            Line<T> best = null;
            double bestDistance = Double.MAX_VALUE;
            for (Line<T> line : lines) {
                if (!line.accepts(q, quadOf)) continue;
                double d = Math.abs(q.centerY() - (line.top + line.bottom) / 2);
                if (d < bestDistance) {
                    bestDistance = d;
                    best = line;
                }
            }
            if (best == null) {
                best = new Line<>();
                lines.add(best);
            }
            best.add(item, q, quadOf);
        }
        lines.sort(Comparator.comparingDouble(l -> l.centerY));
        List<List<T>> out = new ArrayList<>(lines.size());
        for (Line<T> line : lines) {
            line.items.sort(Comparator.comparingDouble(t -> quadOf.apply(t).minX()));
            out.add(line.items);
        }
        return out;
    }

    private static final class Line<T> {
        final List<T> items = new ArrayList<>();
        double top = Double.MAX_VALUE;
        double bottom = -Double.MAX_VALUE;
        double height;
        double centerY;

        boolean accepts(Quad q, Function<T, Quad> quadOf) {
            double h = Math.max(1, q.maxY() - q.minY());
            double margin = height / 4;
            double cy = q.centerY();
            boolean inside = cy >= top + margin && cy <= bottom - margin;
            boolean compatible = h <= 2 * height && height <= 2 * h;
            return inside && compatible && !overlapsAny(items, quadOf, q);
        }

        void add(T item, Quad q, Function<T, Quad> quadOf) {
            items.add(item);
            top = Math.min(top, q.minY());
            bottom = Math.max(bottom, q.maxY());
            height = medianHeight(items, quadOf);
            centerY = items.stream().mapToDouble(t -> quadOf.apply(t).centerY()).average().orElse(0);
        }
    }

    /** The items in reading order, flattened. */
    public static <T> List<T> sort(List<T> items, Function<T, Quad> quadOf) {
        List<T> out = new ArrayList<>(items.size());
        for (List<T> line : lines(items, quadOf)) out.addAll(line);
        return out;
    }

    /** Two boxes of one line never overlap horizontally by more than half the narrower one: such boxes are stacked. */
    private static <T> boolean overlapsAny(List<T> line, Function<T, Quad> quadOf, Quad q) {
        for (T other : line) {
            Quad o = quadOf.apply(other);
            double overlap = Math.min(o.maxX(), q.maxX()) - Math.max(o.minX(), q.minX());
            double narrower = Math.min(o.maxX() - o.minX(), q.maxX() - q.minX());
            if (overlap > 0.5 * narrower) return true;
        }
        return false;
    }

    private static <T> double medianHeight(List<T> line, Function<T, Quad> quadOf) {
        double[] hs = line.stream().mapToDouble(t -> {
            Quad q = quadOf.apply(t);
            return Math.max(1, q.maxY() - q.minY());
        }).sorted().toArray();
        return hs[hs.length / 2];
    }
}
