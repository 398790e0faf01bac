package dev.glimpse.ocr;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * Reading order for detected boxes: top to bottom, left to right, with boxes on the same visual line grouped.
 *
 * <p>Boxes are taken in order of their vertical centre. A box joins a line when, measured against the line's box that is
 * horizontally nearest, its centre lies within half a box height of that box's centre line (the line through its centre
 * along its own direction, so a line photographed a few degrees off horizontal stays one line however long it is), the
 * two heights differ by at most a factor of 2, and it does not sit above or below a box of the line (horizontal overlap
 * of more than half the narrower box). Of several such lines the closest wins; a box that joins none starts a new line.
 * Lines are ordered by their mean vertical centre, boxes within a line by their left edge.
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
                double d = line.distance(q, quadOf);
                if (Double.isNaN(d)) continue;
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
        double centerY;

        /** Perpendicular distance of q's centre from the centre line of the line's horizontally nearest box, or NaN. */
        double distance(Quad q, Function<T, Quad> quadOf) {
            if (overlapsAny(items, quadOf, q)) return Double.NaN;
            Quad near = null;
            double best = Double.MAX_VALUE;
            for (T t : items) {
                Quad o = quadOf.apply(t);
                double dx = Math.abs(o.centerX() - q.centerX());
                if (dx < best) {
                    best = dx;
                    near = o;
                }
            }
            double hq = Math.max(1, q.meanHeight()), hn = Math.max(1, near.meanHeight());
            if (hq > 2 * hn || hn > 2 * hq) return Double.NaN;
            double len = Math.max(1e-6, near.width());
            double ux = (near.x()[1] - near.x()[0]) / len, uy = (near.y()[1] - near.y()[0]) / len;
            double dv = Math.abs(-(q.centerX() - near.centerX()) * uy + (q.centerY() - near.centerY()) * ux);
            return dv <= 0.5 * Math.min(hq, hn) ? dv : Double.NaN;
        }

        void add(T item, Quad q, Function<T, Quad> quadOf) {
            items.add(item);
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
}
