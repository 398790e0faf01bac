package dev.glimpse.api;

import com.sun.net.httpserver.HttpServer;
import dev.glimpse.GlimpseProperties;
import dev.glimpse.error.GlimpseException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class ImageSourceResolverTest {

    static final long MAX = 1000;

    static ImageSourceResolver resolver(boolean remote) {
        return new ImageSourceResolver(new GlimpseProperties.RemoteImages(remote, 1 << 20, Duration.ofSeconds(2)), MAX);
    }

    /** An address literal, built from its bytes: no name service involved. */
    static InetAddress ip(String literal) throws Exception {
        if (literal.contains(":")) {
            // Let the JDK parse an IPv6 literal (numeric only, never a lookup), then rebuild from bytes.
            return InetAddress.getByAddress(InetAddress.getByName(literal).getAddress());
        }
        String[] parts = literal.split("\\.");
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) b[i] = (byte) Integer.parseInt(parts[i]);
        return InetAddress.getByAddress(b);
    }

    static GlimpseException fails(int status, String code, Executable call) {
        GlimpseException e = assertThrows(GlimpseException.class, call);
        assertEquals(status, e.status(), e.getMessage());
        assertEquals(code, e.code(), e.getMessage());
        assertEquals("messages[0].content[1].image_url", e.param());
        return e;
    }

    static final String PARAM = "messages[0].content[1].image_url";

    @Test
    void internalAddresses() throws Exception {
        for (String a : new String[]{"127.0.0.1", "127.255.0.9", "::1", "10.1.2.3", "172.16.0.1", "172.31.255.255",
                "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.255", "fc00::1", "fd12:3456::1", "fe80::1",
                "0.0.0.0", "::", "224.0.0.1", "239.255.255.250", "255.255.255.255", "ff02::1", "::ffff:10.0.0.1"}) {
            assertTrue(ImageSourceResolver.isInternal(ip(a)), a);
        }
    }

    @Test
    void publicAddresses() throws Exception {
        for (String a : new String[]{"8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "172.15.255.255", "172.32.0.1",
                "100.63.255.255", "100.128.0.1", "169.253.0.1", "11.0.0.1", "223.255.255.255"}) {
            assertFalse(ImageSourceResolver.isInternal(ip(a)), a);
        }
    }

    @Test
    void dataUrlIsDecoded() {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2, (byte) 0xff};
        String url = "data:image/png;base64," + Base64.getEncoder().encodeToString(png);
        assertArrayEquals(png, resolver(false).resolve(url, PARAM));
        // Scheme and ";base64" are case-insensitive.
        assertArrayEquals(png, resolver(false).resolve("DATA:image/png;BASE64," + Base64.getEncoder().encodeToString(png), PARAM));
    }

    @Test
    void dataUrlWithoutBase64IsInvalid() {
        GlimpseException e = fails(400, "invalid_image_url", () -> resolver(false).resolve("data:image/png,rawbytes", PARAM));
        assertTrue(e.getMessage().contains("base64"), e.getMessage());
        fails(400, "invalid_image_url", () -> resolver(false).resolve("data:image/png;base64", PARAM)); // no comma
    }

    @Test
    void badBase64AndOversizedData() {
        // Characters outside the alphabet are errors, not silently skipped (that would hand on 0 or corrupted bytes).
        fails(400, "invalid_base64", () -> resolver(false).resolve("data:image/png;base64,@@@@", PARAM));
        fails(400, "invalid_base64", () -> resolver(false).resolve("data:image/png;base64,AAEC!!AwQF", PARAM));
        fails(400, "invalid_base64", () -> resolver(false).resolve("data:image/png;base64,AAECA", PARAM)); // a lone 6-bit tail
        // Line-wrapped base64 (MIME style) is still accepted.
        assertArrayEquals(new byte[]{0, 1, 2, 3, 4, 5},
                resolver(false).resolve("data:image/png;base64,AAEC\r\nAwQF", PARAM));
        assertArrayEquals(new byte[]{0, 1, 2, 3, 4, 5}, resolver(false).resolve("data:image/png;base64,AAEC AwQF\n", PARAM));
        // The limit is exact, whatever the padding: MAX-1, MAX bytes pass (1000 bytes are 1336 chars ending in "=="); MAX+1 does not.
        for (int n : new int[]{(int) MAX - 2, (int) MAX - 1, (int) MAX}) {
            String fits = Base64.getEncoder().encodeToString(new byte[n]);
            assertEquals(n, resolver(false).resolve("data:image/png;base64," + fits, PARAM).length, "size " + n);
        }
        for (int n : new int[]{(int) MAX + 1, (int) MAX + 2, (int) MAX + 3, 10 * (int) MAX}) {
            String big = Base64.getEncoder().encodeToString(new byte[n]);
            fails(413, "image_too_large", () -> resolver(false).resolve("data:image/png;base64," + big, PARAM));
        }
    }

    @Test
    void otherSchemesAndEmptyUrlsAreInvalid() {
        fails(400, "invalid_image_url", () -> resolver(true).resolve("ftp://x", PARAM));
        fails(400, "invalid_image_url", () -> resolver(true).resolve("file:///etc/passwd", PARAM));
        fails(400, "invalid_image_url", () -> resolver(true).resolve("", PARAM));
        fails(400, "invalid_image_url", () -> resolver(true).resolve(null, PARAM));
        fails(400, "invalid_image_url", () -> resolver(true).resolve("http:///x.png", PARAM)); // no host
    }

    @Test
    void remoteUrlsAreRefusedWhenDisabled() {
        GlimpseException e = fails(400, "remote_images_disabled", () -> resolver(false).resolve("https://example.com/x.png", PARAM));
        assertTrue(e.getMessage().contains("glimpse.remote-images.enabled"), e.getMessage());
    }

    @Test
    void loopbackUrlIsRefusedBeforeAnyConnection() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        AtomicInteger requests = new AtomicInteger();
        server.createContext("/", ex -> {
            requests.incrementAndGet();
            byte[] body = {1, 2, 3};
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        try {
            int port = server.getAddress().getPort();
            ImageSourceResolver r = resolver(true);
            for (String url : new String[]{"http://127.0.0.1:" + port + "/x.png", "HTTP://127.0.0.1:" + port + "/x.png",
                    "http://localhost:" + port + "/x.png", "http://[::1]:" + port + "/x.png"}) {
                GlimpseException e = fails(400, "image_url_forbidden", () -> r.resolve(url, PARAM));
                assertTrue(e.getMessage().contains("loopback"), e.getMessage());
            }
            assertEquals(0, requests.get());
            // Control: the server does count a request that reaches it, so 0 above means none was sent.
            HttpResponse<byte[]> direct = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/x.png")).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertArrayEquals(new byte[]{1, 2, 3}, direct.body());
            assertEquals(1, requests.get());
        } finally {
            server.stop(0);
        }
    }
    /** The download after the address check (which refuses this loopback server): deadline, cap and status. */
    @Test
    void downloadHasOneDeadlineOverTheBodyAndACap() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.createContext("/trickle", ex -> {
            ex.sendResponseHeaders(200, 0);   // chunked: one byte every 100 ms for 20 s
            try (var body = ex.getResponseBody()) {
                for (int i = 0; i < 200; i++) {
                    body.write(7);
                    body.flush();
                    Thread.sleep(100);
                }
            } catch (Exception ignored) {
                // the client gave up
            }
        });
        server.createContext("/big", ex -> {
            byte[] body = new byte[5000];
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.createContext("/ok", ex -> {
            byte[] body = {1, 2, 3};
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.createContext("/missing", ex -> {
            ex.sendResponseHeaders(404, -1);
            ex.close();
        });
        server.start();
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort();
            ImageSourceResolver r = resolver(true);   // timeout 2 s, cap MAX = 1000 bytes
            assertArrayEquals(new byte[]{1, 2, 3}, r.download(URI.create(base + "/ok"), PARAM));
            long t0 = System.nanoTime();
            GlimpseException slow = fails(400, "image_fetch_failed", () -> r.download(URI.create(base + "/trickle"), PARAM));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(seconds < 10, "gave up after " + seconds + " s, not when the 20 s trickle ended");
            assertTrue(slow.getMessage().contains("did not arrive"), slow.getMessage());
            fails(413, "image_too_large", () -> r.download(URI.create(base + "/big"), PARAM));
            GlimpseException missing = fails(400, "image_fetch_failed", () -> r.download(URI.create(base + "/missing"), PARAM));
            assertTrue(missing.getMessage().contains("404"), missing.getMessage());
        } finally {
            server.stop(0);
        }
    }
}
