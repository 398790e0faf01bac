package dev.glimpse.api;

import dev.glimpse.GlimpseProperties;
import dev.glimpse.error.GlimpseException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Base64;
import java.util.Locale;

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
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(remote.timeout()).GET().build();
        try {
            HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = resp.body()) {
                if (resp.statusCode() != 200) {
                    throw GlimpseException.invalid("image_fetch_failed", param, "fetching the image returned HTTP " + resp.statusCode());
                }
                long cap = Math.min(maxBytes, remote.maxBytes());
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    out.write(buf, 0, n);
                    if (out.size() > cap) throw GlimpseException.tooLarge("image_too_large", param, "remote image exceeds " + cap + " bytes");
                }
                return out.toByteArray();
            }
        } catch (IOException e) {
            throw GlimpseException.invalid("image_fetch_failed", param, "could not fetch the image: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw GlimpseException.invalid("image_fetch_failed", param, "interrupted while fetching the image");
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
