package dev.glimpse.error;

/**
 * The one exception taxonomy of Glimpse. Every stage (image, text, engine, card) throws these; the API layer maps them to
 * HTTP once, in OpenAI's error shape: {"error": {"message", "type", "param", "code"}}.
 */
public class GlimpseException extends RuntimeException {

    private final int status;
    private final String type;
    private final String code;
    private final String param;

    public GlimpseException(int status, String type, String code, String param, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
    }

    /** 400: the client sent something we cannot use. */
    public static GlimpseException invalid(String code, String param, String message) {
        return new GlimpseException(400, "invalid_request_error", code, param, message, null);
    }

    public static GlimpseException invalid(String code, String param, String message, Throwable cause) {
        return new GlimpseException(400, "invalid_request_error", code, param, message, cause);
    }

    /** 404: unknown model, file, job. */
    public static GlimpseException notFound(String code, String param, String message) {
        return new GlimpseException(404, "invalid_request_error", code, param, message, null);
    }

    /** 413: the payload (an image, a body) is larger than the configured limit. */
    public static GlimpseException tooLarge(String code, String param, String message) {
        return new GlimpseException(413, "invalid_request_error", code, param, message, null);
    }

    /** 429: admission queue full; the client should retry later. */
    public static GlimpseException overloaded(String message) {
        return new GlimpseException(429, "rate_limit_error", "server_overloaded", null, message, null);
    }

    /** 501: a valid request for something this model or server does not support. */
    public static GlimpseException unsupported(String code, String param, String message) {
        return new GlimpseException(501, "invalid_request_error", code, param, message, null);
    }

    /** 503: not ready (model still loading, optional model files missing). */
    public static GlimpseException unavailable(String code, String message) {
        return new GlimpseException(503, "server_error", code, null, message, null);
    }

    /** 500: the engine failed; not the client's fault. */
    public static GlimpseException internal(String message, Throwable cause) {
        return new GlimpseException(500, "server_error", "internal_error", null, message, cause);
    }

    public int status() { return status; }
    public String type() { return type; }
    public String code() { return code; }
    public String param() { return param; }
}
