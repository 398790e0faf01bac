package dev.glimpse.ocr;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class OcrLineMergerTest {

    static DbPostProcess.Box box(double x, double y, double w, double h) {
        return new DbPostProcess.Box(Quad.of(x, y, x + w, y, x + w, y + h, x, y + h), 0.9);
    }

    @Test
    void overlappingOrCloseLinePiecesAreJoined() {
        List<DbPostProcess.Box> out = LineMerger.merge(List.of(box(10, 10, 200, 40), box(190, 12, 150, 40)), 0.5, 500, 100);
        assertEquals(1, out.size());
        Quad q = out.get(0).quad();
        assertEquals(10, q.minX(), 1);
        assertEquals(340, q.maxX(), 1);
        // a gap of 15 px (< 0.5 x 40) is joined too
        assertEquals(1, LineMerger.merge(List.of(box(10, 10, 200, 40), box(225, 10, 100, 40)), 0.5, 500, 100).size());
    }

    @Test
    void distantDifferentOrOtherLineBoxesStaySeparate() {
        // far apart on one line (gap 2 heights)
        assertEquals(2, LineMerger.merge(List.of(box(10, 10, 200, 40), box(290, 10, 100, 40)), 0.5, 500, 100).size());
        // next line down
        assertEquals(2, LineMerger.merge(List.of(box(10, 10, 200, 40), box(10, 55, 200, 40)), 0.5, 500, 200).size());
        // very different heights (a heading beside body text)
        assertEquals(2, LineMerger.merge(List.of(box(10, 10, 200, 60), box(215, 30, 100, 20)), 0.5, 500, 100).size());
        // joining switched off
        assertEquals(2, LineMerger.merge(List.of(box(10, 10, 200, 40), box(190, 12, 150, 40)), -1, 500, 100).size());
    }
}
