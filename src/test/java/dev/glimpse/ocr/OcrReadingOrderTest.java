package dev.glimpse.ocr;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class OcrReadingOrderTest {

    record Item(String name, Quad q) {}

    static Item box(String name, double x, double y, double w, double h) {
        return new Item(name, Quad.of(x, y, x + w, y, x + w, y + h, x, y + h));
    }

    /** A box of width w, height h whose top edge starts at (x, y) and rises by {@code slope} per pixel. */
    static Item skewed(String name, double x, double y, double w, double h, double slope) {
        return new Item(name, Quad.of(x, y, x + w, y + slope * w, x + w, y + slope * w + h, x, y + h));
    }

    static List<String> names(List<List<Item>> lines) {
        List<String> out = new ArrayList<>();
        for (List<Item> l : lines) out.add(String.join(" ", l.stream().map(Item::name).toList()));
        return out;
    }

    @Test
    void topToBottomLeftToRightWithSameLineGrouping() {
        List<Item> items = new ArrayList<>(List.of(
                box("c", 300, 12, 80, 20), box("a", 10, 10, 100, 22), box("b", 130, 8, 120, 24),
                box("e", 150, 52, 90, 20), box("d", 12, 50, 100, 22),
                box("f", 10, 95, 60, 20)));
        for (long seed = 0; seed < 5; seed++) {
            Collections.shuffle(items, new Random(seed));
            assertEquals(List.of("a b c", "d e", "f"), names(ReadingOrder.lines(items, Item::q)));
            assertEquals(List.of("a", "b", "c", "d", "e", "f"), ReadingOrder.sort(items, Item::q).stream().map(Item::name).toList());
        }
    }

    @Test
    void aSkewedLineStaysOneLine() {
        // two lines rotated by ~3 degrees (slope 0.05): the right end of line 1 is lower than the left start of line 2
        List<Item> items = List.of(
                skewed("a", 0, 10, 200, 24, 0.05), skewed("b", 220, 21, 200, 24, 0.05), skewed("c", 440, 32, 200, 24, 0.05),
                skewed("d", 0, 50, 200, 24, 0.05), skewed("e", 220, 61, 200, 24, 0.05));
        assertEquals(List.of("a b c", "d e"), names(ReadingOrder.lines(items, Item::q)));
    }

    @Test
    void stackedBoxesAreNotOneLineAndTightLinesStayApart() {
        // "small" sits right under "title" (overlapping in x) and starts a line of its own
        List<Item> items = List.of(box("title", 10, 10, 300, 40), box("small", 20, 48, 100, 14), box("right", 140, 50, 100, 14));
        assertEquals(List.of("title", "small right"), names(ReadingOrder.lines(items, Item::q)));
        // tightly spaced lines (gap 2 px) are not merged
        List<Item> tight = List.of(box("x", 0, 0, 100, 20), box("y", 0, 22, 100, 20), box("z", 120, 1, 100, 20));
        assertEquals(List.of("x z", "y"), names(ReadingOrder.lines(tight, Item::q)));
    }

    @Test
    void emptyInputGivesNoLines() {
        assertTrue(ReadingOrder.lines(List.<Item>of(), Item::q).isEmpty());
    }
}
