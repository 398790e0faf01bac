package dev.glimpse.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.error.GlimpseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Caption jobs: every file of a source is one item. The source is a server folder (checked against the allowed roots
 * when the job is created and stored as its real path) or an uploaded zip, unpacked under
 * {@code <data-dir>/jobs/<id>/source} while the job validates (again from scratch if a crash interrupted it).
 *
 * <p>spec: {@code {"source": {"type": "folder", "path": "/real/path"} | {"type": "zip", "file_id": "file-..."},
 * "prompt": "...", "max_tokens": 64}}
 */
public final class CaptionKind implements JobKind {

    private static final Logger log = LoggerFactory.getLogger(CaptionKind.class);

    private final Captioner captioner;
    private final FileStore files;
    private final Path jobsDir;
    private final ObjectMapper json;
    private final long maxZipBytes;
    private final int maxZipEntries;

    public CaptionKind(Captioner captioner, FileStore files, Path jobsDir, ObjectMapper json, long maxZipBytes, int maxZipEntries) {
        this.captioner = captioner;
        this.files = files;
        this.jobsDir = jobsDir;
        this.json = json;
        this.maxZipBytes = maxZipBytes;
        this.maxZipEntries = maxZipEntries;
    }

    @Override
    public String kind() {
        return Job.CAPTION;
    }

    /** Where the job's files are read from. */
    public Path sourceRoot(Job job) {
        return sourceRoot(job, spec(job));
    }

    private Path sourceRoot(Job job, JsonNode spec) {
        JsonNode src = spec.path("source");
        return src.path("type").asText().equals("folder") ? Path.of(src.path("path").asText()) : unpackDir(job.id());
    }

    public Path unpackDir(String jobId) {
        return jobsDir.resolve(jobId).resolve("source");
    }

    @Override
    public List<String> listInputs(Job job) throws IOException {
        JsonNode src = spec(job).path("source");
        Path root = sourceRoot(job);
        if (src.path("type").asText().equals("zip")) unzip(src.path("file_id").asText(), root);
        else if (!Files.isDirectory(root)) {
            throw GlimpseException.invalid("source_not_found", "source", "the folder " + root + " no longer exists");
        }
        List<String> list = Captioner.listFiles(root);
        if (list.isEmpty()) throw GlimpseException.invalid("empty_source", "source", "the source holds no files");
        return list;
    }

    @Override
    public CompletableFuture<Outcome> process(Job job, Item item, BooleanSupplier cancelled) {
        JsonNode spec = spec(job);
        return captioner.caption(sourceRoot(job, spec), item.input(), spec.path("prompt").asText(),
                spec.path("max_tokens").asInt(), cancelled);
    }

    @Override
    public String failure(Job job, Item item, GlimpseException error) {
        return captioner.failure(item.input(), error).result();
    }

    /** Unpacks a zip into {@code dir} (emptied first); entries may not escape it, and sizes and counts are capped. */
    private void unzip(String fileId, Path into) throws IOException {
        Path dir = into.toAbsolutePath().normalize();   // entries are compared to it normalised ("./data" would refuse all)
        deleteTree(dir);
        Files.createDirectories(dir);
        long total = 0;
        int entries = 0;
        try (ZipInputStream zin = new ZipInputStream(Files.newInputStream(files.path(fileId)))) {
            byte[] buf = new byte[1 << 16];
            for (ZipEntry e; (e = zin.getNextEntry()) != null; ) {
                Path target = dir.resolve(e.getName()).normalize();
                if (!target.startsWith(dir)) {
                    throw GlimpseException.invalid("invalid_zip", "source", "zip entry '" + e.getName() + "' points outside the archive");
                }
                if (e.isDirectory()) {
                    Files.createDirectories(target);
                    continue;
                }
                if (++entries > maxZipEntries) {
                    throw GlimpseException.invalid("invalid_zip", "source", "the zip holds more than " + maxZipEntries + " files");
                }
                Files.createDirectories(target.getParent());
                try (OutputStream out = Files.newOutputStream(target)) {
                    for (int r; (r = zin.read(buf)) > 0; ) {
                        total += r;
                        if (total > maxZipBytes) {
                            throw GlimpseException.invalid("invalid_zip", "source", "the zip unpacks to more than " + maxZipBytes + " bytes");
                        }
                        out.write(buf, 0, r);
                    }
                }
            }
        } catch (java.util.zip.ZipException e) {
            throw GlimpseException.invalid("invalid_zip", "source", "the upload is not a valid zip: " + e.getMessage());
        }
    }

    /** Removes a job's working folder (unpacked zip); a folder source is never touched. */
    public void deleteWorkDir(String jobId) throws IOException {
        deleteTree(jobsDir.resolve(jobId));
    }

    @Override
    public void discard(Job job) {
        try {
            deleteWorkDir(job.id());
        } catch (IOException | RuntimeException e) {
            log.warn("job {}: cannot remove its working folder: {}", job.id(), e.toString());
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /** Starts with a zip local-file header ("PK\3\4")? */
    public static boolean isZip(InputStream in) throws IOException {
        byte[] magic = in.readNBytes(4);
        return magic.length == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
    }

    private JsonNode spec(Job job) {
        try {
            return json.readTree(job.spec());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("job " + job.id() + " has a corrupt spec", e);
        }
    }
}
