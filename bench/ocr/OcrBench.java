import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.ocr.OcrModelFiles;
import dev.glimpse.ocr.OcrResult;
import dev.glimpse.ocr.PpOcrPipeline;
import dev.glimpse.runtime.OrtRuntime;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * OCR benchmark: Glimpse's PP-OCRv4 pipeline (in-process) against the tesseract CLI on the same images, in one run, one
 * image at a time, the two engines interleaved image by image so both see the same machine load.
 *
 * <p>An image set is a directory of NAME.{png,jpg,jpeg,bmp,webp} with the ground truth in NAME.gt.txt beside each.
 * CER = Levenshtein distance / ground-truth length after normalising both sides (Unicode NFKC, every run of whitespace,
 * line breaks included, to one space, trimmed); the set's CER adds up distances and lengths over all images.
 * Time per image: for Glimpse, decode + the whole pipeline; for tesseract, the CLI process from start to exit (it reads
 * the file and loads its model each time, as a CLI does).
 *
 *   java -cp target/classes:$(cat target/ocr-bench/cp.txt) bench/ocr/OcrBench.java --set DIR [--out FILE.tsv]
 *        [--models DIR] [--tesseract "tesseract"] [--psm 3] [--warmup 3] [--limit N] [--no-tesseract] [--tesseract-one-thread] [--threads N]
 *        [pipeline options: --limit-side N --limit-type max|min --det-thresh X --box-thresh X --unclip X --merge-gap X
 *         --crop-margin X --rec-batch N --rec-batch-width N --rec-padding X --space-threshold X --rec-scale X --cls B --fold B --spin B]
 */
public class OcrBench {

    record Row(String name, String gt, String ours, String tess, long oursNs, long tessNs, String tess1, long tess1Ns) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new HashMap<>(Map.of("--tesseract", "tesseract", "--psm", "3", "--warmup", "3",
                "--limit", "0", "--models", OcrModelFiles.defaultDir().toString()));
        boolean noTess = false;
        boolean tessOneThread = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--no-tesseract")) {
                noTess = true;
                continue;
            }
            if (args[i].equals("--tesseract-one-thread")) {
                tessOneThread = true;
                continue;
            }
            opt.put(args[i], args[++i]);
        }
        if (!opt.containsKey("--set")) {
            System.err.println("usage: OcrBench --set DIR [--out FILE.tsv] [--models DIR] [--psm N] [--limit N] [--no-tesseract]");
            System.exit(2);
        }
        Path set = Path.of(opt.get("--set"));
        List<Path> images;
        try (Stream<Path> s = Files.list(set)) {
            images = s.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).matches(".*\\.(png|jpe?g|bmp|webp)$"))
                    .filter(p -> Files.exists(gtOf(p))).sorted().toList();
        }
        int limit = Integer.parseInt(opt.get("--limit"));
        if (limit > 0 && images.size() > limit) images = images.subList(0, limit);
        if (images.isEmpty()) throw new IllegalStateException("no images with .gt.txt in " + set);

        OcrModelFiles files = new OcrModelFiles(Path.of(opt.get("--models")));
        if (!files.problems().isEmpty()) throw new IllegalStateException(files.problems() + "; run " + OcrModelFiles.installCommand(files.dir()));
        PpOcrPipeline.Options o = PpOcrPipeline.Options.DEFAULT;
        var db = o.db();
        o = o.withDetection((int) d(opt, "--limit-side", o.limitSideLen()), opt.getOrDefault("--limit-type", o.limitType()),
                new dev.glimpse.ocr.DbPostProcess.Params(d(opt, "--det-thresh", db.thresh()), d(opt, "--box-thresh", db.boxThresh()),
                        d(opt, "--unclip", db.unclipRatio()), db.maxCandidates()), d(opt, "--merge-gap", o.mergeGap()),
                d(opt, "--crop-margin", o.cropMargin()));
        o = o.withRecognition((int) d(opt, "--rec-batch", o.recBatchSize()), (int) d(opt, "--rec-batch-width", o.recBatchWidth()),
                d(opt, "--rec-padding", o.recPadding()),
                d(opt, "--space-threshold", o.spaceThreshold()), d(opt, "--rec-scale", o.recWidthScale()));
        if (opt.containsKey("--cls")) o = o.withAngleClassification(Boolean.parseBoolean(opt.get("--cls")), o.clsThresh());
        if (opt.containsKey("--fold")) o = o.withFoldGraphs(Boolean.parseBoolean(opt.get("--fold")));
        if (opt.containsKey("--spin")) o = o.withAllowSpinning(Boolean.parseBoolean(opt.get("--spin")));
        System.out.println("options: " + o);
        PpOcrPipeline pipeline = PpOcrPipeline.open(files, new OrtRuntime("cpu", (int) d(opt, "--threads", 0)), o);
        String[] tess = {opt.get("--tesseract"), null, "stdout", "-l", "eng", "--psm", opt.get("--psm")};

        int warmup = Math.min(Integer.parseInt(opt.get("--warmup")), images.size());
        for (int i = 0; i < warmup; i++) {
            ours(pipeline, images.get(i));
            if (!noTess) tesseract(tess, images.get(i), false);
            if (!noTess && tessOneThread) tesseract(tess, images.get(i), true);
        }
        STAGES.clear();

        List<Row> rows = new ArrayList<>();
        for (Path img : images) {
            String gt = Files.readString(gtOf(img), StandardCharsets.UTF_8);
            long t0 = System.nanoTime();
            String ours = ours(pipeline, img);
            long t1 = System.nanoTime();
            String tx = noTess ? "" : tesseract(tess, img, false);
            long t2 = System.nanoTime();
            String t1x = noTess || !tessOneThread ? "" : tesseract(tess, img, true);
            long t3 = System.nanoTime();
            rows.add(new Row(img.getFileName().toString(), gt, ours, tx, t1 - t0, noTess ? 0 : t2 - t1, t1x, t3 - t2));
        }
        pipeline.close();

        report(rows, set, noTess, tessOneThread, String.join(" ", tess).replace("null", "IMAGE"));
        if (opt.containsKey("--out")) {
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(Path.of(opt.get("--out"))))) {
                w.println("name\tcer_glimpse\tcer_tesseract\tms_glimpse\tms_tesseract\tgt\tglimpse\ttesseract");
                for (Row r : rows) {
                    String g = norm(r.gt);
                    w.printf(Locale.ROOT, "%s\t%.4f\t%.4f\t%.1f\t%.1f\t%s\t%s\t%s%n", r.name,
                            cer(g, norm(r.ours)), cer(g, norm(r.tess)), r.oursNs / 1e6, r.tessNs / 1e6, g, norm(r.ours), norm(r.tess));
                }
            }
        }
    }

    static double d(Map<String, String> opt, String key, double dflt) {
        return opt.containsKey(key) ? Double.parseDouble(opt.get(key)) : dflt;
    }

    static Path gtOf(Path img) {
        String n = img.getFileName().toString();
        return img.resolveSibling(n.substring(0, n.lastIndexOf('.')) + ".gt.txt");
    }

    /** Milliseconds per pipeline stage, summed over the measured images (decode is the image decode). */
    static final Map<String, Double> STAGES = new java.util.LinkedHashMap<>();

    static String ours(PpOcrPipeline p, Path img) throws IOException {
        long t0 = System.nanoTime();
        DecodedImage d = ImageDecoder.decode(Files.readAllBytes(img), ImageLimits.DEFAULT);
        STAGES.merge("decode_ms", (System.nanoTime() - t0) / 1e6, Double::sum);
        OcrResult r = p.run(d, 0.5);
        r.timings().forEach((k, v) -> STAGES.merge(k, v, Double::sum));
        return r.text();
    }

    /** Runs the tesseract CLI on one image; {@code oneThread} sets OMP_THREAD_LIMIT=1 (no OpenMP worker threads). */
    static String tesseract(String[] cmd, Path img, boolean oneThread) throws Exception {
        String[] c = cmd.clone();
        c[1] = img.toString();
        ProcessBuilder pb = new ProcessBuilder(c).redirectError(ProcessBuilder.Redirect.DISCARD);
        if (oneThread) pb.environment().put("OMP_THREAD_LIMIT", "1");
        Process proc = pb.start();
        byte[] out = proc.getInputStream().readAllBytes();
        if (proc.waitFor() != 0) throw new IllegalStateException("tesseract failed on " + img);
        return new String(out, StandardCharsets.UTF_8);
    }

    static String norm(String s) {
        return Normalizer.normalize(s, Normalizer.Form.NFKC).replaceAll("\\s+", " ").strip();
    }

    static double cer(String gt, String hyp) {
        return gt.isEmpty() ? (hyp.isEmpty() ? 0 : 1) : (double) levenshtein(gt, hyp) / gt.length();
    }

    static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    static void report(List<Row> rows, Path set, boolean noTess, boolean tessOneThread, String tessCmd) {
        System.out.printf(Locale.ROOT, "set: %s (%d images)%n", set, rows.size());
        System.out.printf(Locale.ROOT, "tesseract: %s%n", tessCmd);
        System.out.println("| engine | CER | exact images | images/s | median ms/image | p90 ms/image |");
        System.out.println("|---|---|---|---|---|---|");
        line("Glimpse PP-OCRv4 (Java, ONNX Runtime)", rows, 0);
        if (!noTess) line("tesseract CLI", rows, 1);
        if (!noTess && tessOneThread) line("tesseract CLI, OMP_THREAD_LIMIT=1", rows, 2);
        StringBuilder b = new StringBuilder("Glimpse time by stage (ms per image):");
        STAGES.forEach((k, v) -> b.append(String.format(Locale.ROOT, " %s %.1f", k.replace("_ms", ""), v / rows.size())));
        System.out.println(b);
    }

    static void line(String name, List<Row> rows, int engine) {
        long dist = 0, len = 0, exact = 0, total = 0;
        long[] ns = new long[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            String g = norm(r.gt), h = norm(engine == 0 ? r.ours : engine == 1 ? r.tess : r.tess1);
            int d = levenshtein(g, h);
            dist += d;
            len += g.length();
            if (d == 0) exact++;
            ns[i] = engine == 0 ? r.oursNs : engine == 1 ? r.tessNs : r.tess1Ns;
            total += ns[i];
        }
        Arrays.sort(ns);
        System.out.printf(Locale.ROOT, "| %s | %.4f | %d/%d | %.2f | %.0f | %.0f |%n", name, (double) dist / len, exact, rows.size(),
                rows.size() / (total / 1e9), ns[ns.length / 2] / 1e6, ns[(int) Math.min(ns.length - 1, Math.floor(ns.length * 0.9))] / 1e6);
    }
}
