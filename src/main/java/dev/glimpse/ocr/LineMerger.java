package dev.glimpse.ocr;

import dev.glimpse.image.OpenCvLoader;
import org.opencv.core.MatOfPoint2f;
import org.opencv.core.Point;
import org.opencv.core.RotatedRect;
import org.opencv.imgproc.Imgproc;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Joins detected boxes that are pieces of one text line, before recognition. DB detection sometimes splits a line at a
 * wide word gap; after unclipping, the pieces overlap, so the crop of one piece shows the edge of its neighbour's last
 * letter and the recogniser reads it twice ("bridge" + "e printer"). Reading the joined line once avoids that, and the
 * recogniser's own space decoding puts the word gap back.
 *
 * <p>Two boxes are joined when both are roughly horizontal (top edge within 45 degrees), their directions differ by at
 * most 10 degrees, their heights by at most a factor of 1.5, the centre of one lies within 0.3 heights of the other's
 * centre line, and the gap between them along that line is at most {@code maxGap} heights (negative when they overlap).
 * The joined box is the minimum-area rectangle around both. Joining is transitive.
 */
public final class LineMerger {

    private LineMerger() {
    }

    public static List<DbPostProcess.Box> merge(List<DbPostProcess.Box> boxes, double maxGap, int imageW, int imageH) {
        if (boxes.size() < 2 || !(maxGap >= 0)) return boxes;
        int n = boxes.size();
        int[] parent = new int[n];
        for (int i = 0; i < n; i++) parent[i] = i;
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                if (joinable(boxes.get(i).quad(), boxes.get(j).quad(), maxGap)) union(parent, i, j);
            }
        }
        List<List<DbPostProcess.Box>> groups = new ArrayList<>();
        int[] groupOf = new int[n];
        java.util.Arrays.fill(groupOf, -1);
        for (int i = 0; i < n; i++) {
            int r = find(parent, i);
            if (groupOf[r] < 0) {
                groupOf[r] = groups.size();
                groups.add(new ArrayList<>());
            }
            groups.get(groupOf[r]).add(boxes.get(i));
        }
        List<DbPostProcess.Box> out = new ArrayList<>(groups.size());
        for (List<DbPostProcess.Box> g : groups) {
            out.add(g.size() == 1 ? g.get(0) : join(g, imageW, imageH));
        }
        out.sort(Comparator.comparingDouble((DbPostProcess.Box b) -> b.quad().minY()).thenComparingDouble(b -> b.quad().minX()));
        return out;
    }

    static boolean joinable(Quad a, Quad b, double maxGap) {
        double angA = angle(a), angB = angle(b);
        if (Math.abs(angA) > Math.PI / 4 || Math.abs(angB) > Math.PI / 4) return false;
        if (Math.abs(angA - angB) > Math.toRadians(10)) return false;
        double hA = a.meanHeight(), hB = b.meanHeight();
        if (hA <= 0 || hB <= 0 || Math.max(hA, hB) > 1.5 * Math.min(hA, hB)) return false;
        double h = Math.max(hA, hB);
        // Work in a's frame: u along its top edge, v across it.
        double ux = Math.cos(angA), uy = Math.sin(angA);
        double ax = a.centerX(), ay = a.centerY();
        double dv = -(b.centerX() - ax) * uy + (b.centerY() - ay) * ux;
        if (Math.abs(dv) > 0.3 * h) return false;
        double aMin = Double.MAX_VALUE, aMax = -Double.MAX_VALUE, bMin = Double.MAX_VALUE, bMax = -Double.MAX_VALUE;
        for (int k = 0; k < 4; k++) {
            double pa = (a.x()[k] - ax) * ux + (a.y()[k] - ay) * uy;
            double pb = (b.x()[k] - ax) * ux + (b.y()[k] - ay) * uy;
            aMin = Math.min(aMin, pa);
            aMax = Math.max(aMax, pa);
            bMin = Math.min(bMin, pb);
            bMax = Math.max(bMax, pb);
        }
        double gap = Math.max(bMin - aMax, aMin - bMax);
        return gap <= maxGap * h;
    }

    /** Direction of the top edge, radians, in (-pi, pi]. */
    static double angle(Quad q) {
        return Math.atan2(q.y()[1] - q.y()[0], q.x()[1] - q.x()[0]);
    }

    private static DbPostProcess.Box join(List<DbPostProcess.Box> group, int imageW, int imageH) {
        OpenCvLoader.ensureLoaded();
        List<Point> pts = new ArrayList<>();
        double score = 0;
        for (DbPostProcess.Box b : group) {
            for (int k = 0; k < 4; k++) pts.add(new Point(b.quad().x()[k], b.quad().y()[k]));
            score += b.score();
        }
        MatOfPoint2f m = new MatOfPoint2f(pts.toArray(new Point[0]));
        RotatedRect r = Imgproc.minAreaRect(m);
        m.release();
        Point[] c = DbPostProcess.miniBox(r);
        Quad q = Quad.of(c[0].x, c[0].y, c[1].x, c[1].y, c[2].x, c[2].y, c[3].x, c[3].y);
        return new DbPostProcess.Box(DbPostProcess.clipToImage(DbPostProcess.orderClockwise(q), imageW, imageH), score / group.size());
    }

    private static int find(int[] parent, int i) {
        while (parent[i] != i) {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        return i;
    }

    private static void union(int[] parent, int a, int b) {
        parent[find(parent, a)] = find(parent, b);
    }
}
