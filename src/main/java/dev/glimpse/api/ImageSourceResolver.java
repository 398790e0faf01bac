package dev.glimpse.api;

import dev.glimpse.GlimpseProperties;
import dev.glimpse.error.GlimpseException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Turns an OpenAI image_url ("data:image/...;base64,..." or, when enabled, an http(s) URL) into encoded image bytes.
 * Remote fetches have a byte cap and a timeout, follow no redirects, and refuse hosts that resolve to loopback, private,
 * link-local or otherwise internal addresses, so the server cannot be used to reach its own network.
 */
public final class ImageSourceResolver {

    private final GlimpseProperties.RemoteImages remote;
    private final long maxBytes;
    private final HttpClient http;

    public ImageSourceResolver(GlimpseProperties.RemoteImages remote, long maxImageBytes) {
        this.remote = remote;
        this.maxBytes = maxImageBytes;
        this.http = HttpClient.newBuilder().connectTimeout(remote.timeout()).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    public byte[] resolve(String url, String param) {
        if (url == null || url.isBlank()) throw GlimpseException.invalid("invalid_image_url", param, "image_url.url is empty");
        String lower = url.substring(0, Math.min(url.length(), 16)).toLowerCase(Locale.ROOT);
        if (lower.startsWith("data:")) return dataUrl(url, param);
        if (lower.startsWith("http://") || lower.startsWith("https://")) return fetch(url, param);
        throw GlimpseException.invalid("invalid_image_url", param,
                "image_url.url must be a data URL (data:image/png;base64,...) or an http(s) URL");
    }

    private byte[] dataUrl(String url, String param) {
        int comma = url.indexOf(',');
        if (comma < 0) throw GlimpseException.invalid("invalid_image_url", param, "data URL has no ',' before its payload");
        String meta = url.substring(5, comma).toLowerCase(Locale.ROOT);
        if (!meta.endsWith(";base64")) {
            throw GlimpseException.invalid("invalid_image_url", param, "data URL must be base64-encoded (data:<mime>;base64,<data>)");
        }
        // Line breaks and spaces (as in MIME-wrapped base64) are allowed; anything else outside the alphabet is an error.
        // (Base64.getMimeDecoder() would silently skip such characters and hand corrupted bytes on.)
        String payload = stripWhitespace(url.substring(comma + 1));
        // n base64 chars decode to at least n*3/4 - 2 bytes (at most two '=' of padding): refuse before decoding.
        if ((long) payload.length() * 3 / 4 - 2 > maxBytes) throw tooLarge(param);
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(payload);
        } catch (IllegalArgumentException e) {
            throw GlimpseException.invalid("invalid_base64", param, "image data is not valid base64: " + e.getMessage());
        }
        if (bytes.length > maxBytes) throw tooLarge(param);
        return bytes;
    }

    private GlimpseException tooLarge(String param) {
        return GlimpseException.tooLarge("image_too_large", param, "image is larger than " + maxBytes + " bytes");
    }

    private static String stripWhitespace(String s) {
        int i = 0;
        while (i < s.length() && !Character.isWhitespace(s.charAt(i))) i++;
        if (i == s.length()) return s;
        StringBuilder b = new StringBuilder(s.length()).append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!Character.isWhitespace(c)) b.append(c);
        }
        return b.toString();
    }

    private byte[] fetch(String url, String param) {
        if (!remote.enabled()) {
            throw GlimpseException.invalid("remote_images_disabled", param,
                    "remote image URLs are disabled on this server; send the image as a data URL (data:image/png;base64,...) "
                            + "or enable glimpse.remote-images.enabled");
        }
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw GlimpseException.invalid("invalid_image_url", param, "not a valid URL: " + e.getMessage());
        }
        if (uri.getHost() == null) throw GlimpseException.invalid("invalid_image_url", param, "URL has no host");
        requirePublic(uri.getHost(), param);
        return download(uri, param);
    }

    /**
     * GET after the address check: one deadline (glimpse.remote-images.timeout) over headers and body together, so a
     * server that trickles bytes cannot hold a request thread, and the byte cap enforced as the body arrives.
     */
    byte[] download(URI uri, String param) {
        long cap = Math.min(maxBytes, remote.maxBytes());
        CappedBody body = new CappedBody(cap);
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(remote.timeout()).GET().build();
        CompletableFuture<HttpResponse<byte[]>> pending =
                http.sendAsync(req, info -> info.statusCode() == 200 ? body : HttpResponse.BodySubscribers.replacing(null));
        try {
            HttpResponse<byte[]> resp = pending.get(remote.timeout().toMillis(), TimeUnit.MILLISECONDS);
            if (resp.statusCode() != 200) {
                throw GlimpseException.invalid("image_fetch_failed", param, "fetching the image returned HTTP " + resp.statusCode());
            }
            return resp.body();
        } catch (TimeoutException e) {
            body.abort();
            pending.cancel(true);
            throw GlimpseException.invalid("image_fetch_failed", param, "the image did not arrive within " + remote.timeout());
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            while ((cause instanceof java.util.concurrent.CompletionException || cause instanceof IOException)
                    && cause.getCause() != null && !(cause instanceof TooLarge)) {
                cause = cause.getCause();
            }
            if (cause instanceof TooLarge) {
                throw GlimpseException.tooLarge("image_too_large", param, "remote image exceeds " + cap + " bytes");
            }
            throw GlimpseException.invalid("image_fetch_failed", param, "could not fetch the image: " + cause);
        } catch (InterruptedException e) {
            body.abort();
            pending.cancel(true);
            Thread.currentThread().interrupt();
            throw GlimpseException.invalid("image_fetch_failed", param, "interrupted while fetching the image");
        }
    }

    /** Thrown inside the body subscriber when the body passes the cap. */
    private static final class TooLarge extends IOException {
        TooLarge() {
            super("body over the cap", null);
        }
    }

    /** Collects a response body up to {@code cap} bytes; one more and it cancels the download. */
    private static final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final long cap;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private volatile Flow.Subscription subscription;

        CappedBody(long cap) {
            this.cap = cap;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) return;
            for (ByteBuffer b : items) {
                byte[] chunk = new byte[b.remaining()];
                b.get(chunk);
                out.write(chunk, 0, chunk.length);
            }
            if (out.size() > cap) {
                abort();
                result.completeExceptionally(new TooLarge());
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(out.toByteArray());
        }

        void abort() {
            Flow.Subscription s = subscription;
            if (s != null) s.cancel();
        }
    }

    static void requirePublic(String host, String param) {
        InetAddress[] addrs;
        try {
            addrs = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            throw GlimpseException.invalid("image_fetch_failed", param, "unknown host " + host);
        }
        for (InetAddress a : addrs) {
            if (isInternal(a)) {
                throw GlimpseException.invalid("image_url_forbidden", param,
                        "image URLs may not point at loopback, private or link-local addresses (" + host + " -> " + a.getHostAddress() + ")");
            }
        }
    }

    static boolean isInternal(InetAddress a) {
        if (a.isLoopbackAddress() || a.isSiteLocalAddress() || a.isLinkLocalAddress() || a.isAnyLocalAddress()
                || a.isMulticastAddress()) return true;
        byte[] b = a.getAddress();
        if (a instanceof Inet6Address) return (b[0] & 0xfe) == 0xfc; // fc00::/7 unique local
        int first = b[0] & 0xff, second = b[1] & 0xff;
        return first == 0 || (first == 100 && second >= 64 && second < 128) // 100.64/10 carrier-grade NAT
                || (first == 169 && second == 254) || first >= 224;
    }
}
