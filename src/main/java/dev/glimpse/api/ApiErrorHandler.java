package dev.glimpse.api;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.error.GlimpseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.TypeMismatchException;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.ErrorResponse;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.async.AsyncRequestNotUsableException;
import org.springframework.web.multipart.MaxUploadSizeExceededException;
import org.springframework.web.multipart.MultipartException;
import org.springframework.web.servlet.resource.NoResourceFoundException;

/** The one place exceptions become HTTP: OpenAI's error shape {"error": {message, type, param, code}}. */
@RestControllerAdvice
public class ApiErrorHandler {

    private static final Logger log = LoggerFactory.getLogger(ApiErrorHandler.class);

    @ExceptionHandler(GlimpseException.class)
    public ResponseEntity<ObjectNode> glimpse(GlimpseException e) {
        if (e.status() == 503) log.warn("unavailable: {}", e.getMessage()); // e.g. optional model files not installed
        else if (e.status() >= 500) log.error("request failed", e);
        ResponseEntity.BodyBuilder b = ResponseEntity.status(e.status()).contentType(MediaType.APPLICATION_JSON);
        if (e.status() == 429 || e.status() == 503) b.header("Retry-After", "1");
        return b.body(body(e.getMessage(), e.type(), e.param(), e.code()));
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    public ResponseEntity<ObjectNode> unreadable(HttpMessageNotReadableException e) {
        String detail = e.getMostSpecificCause().getMessage();
        if (detail != null && detail.length() > 200) detail = detail.substring(0, 200) + "...";
        return error(HttpStatus.BAD_REQUEST, "invalid_json", "the request body is not valid JSON: " + detail);
    }

    /** A multipart upload over spring.servlet.multipart.max-file-size / max-request-size. */
    @ExceptionHandler(MaxUploadSizeExceededException.class)
    public ResponseEntity<ObjectNode> uploadTooLarge(MaxUploadSizeExceededException e) {
        return error(HttpStatus.PAYLOAD_TOO_LARGE, "upload_too_large", "the upload is larger than the server accepts: " + e.getMessage());
    }

    @ExceptionHandler(HttpMediaTypeNotSupportedException.class)
    public ResponseEntity<ObjectNode> mediaType(HttpMediaTypeNotSupportedException e) {
        String supported = e.getSupportedMediaTypes().isEmpty() ? "application/json" : e.getSupportedMediaTypes().stream()
                .map(Object::toString).collect(java.util.stream.Collectors.joining(" or "));
        return error(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send Content-Type: " + supported);
    }

    @ExceptionHandler(HttpRequestMethodNotSupportedException.class)
    public ResponseEntity<ObjectNode> method(HttpRequestMethodNotSupportedException e) {
        return error(HttpStatus.METHOD_NOT_ALLOWED, "method_not_allowed", e.getMessage());
    }

    @ExceptionHandler(NoResourceFoundException.class)
    public ResponseEntity<ObjectNode> notFound(NoResourceFoundException e) {
        return error(HttpStatus.NOT_FOUND, "not_found", "no such endpoint: /" + e.getResourcePath());
    }

    /** The client closed the connection mid-response (a dropped stream): nothing to send, nothing wrong with the server. */
    @ExceptionHandler(AsyncRequestNotUsableException.class)
    public void clientGone(AsyncRequestNotUsableException e) {
        log.debug("client disconnected: {}", e.getMessage());
    }

    /** A query or path parameter of the wrong type, e.g. {@code GET /v1/batches?limit=abc}. */
    @ExceptionHandler(TypeMismatchException.class)
    public ResponseEntity<ObjectNode> typeMismatch(TypeMismatchException e) {
        String name = e.getPropertyName() == null ? "parameter" : e.getPropertyName();
        String type = e.getRequiredType() == null ? "another type" : e.getRequiredType().getSimpleName();
        return ResponseEntity.status(HttpStatus.BAD_REQUEST).contentType(MediaType.APPLICATION_JSON)
                .body(body(name + " must be " + type + ", got '" + e.getValue() + "'", "invalid_request_error", name, "invalid_type"));
    }

    /** A multipart body that cannot be parsed (no boundary, truncated); oversize uploads have their own 413 above. */
    @ExceptionHandler(MultipartException.class)
    public ResponseEntity<ObjectNode> badMultipart(MultipartException e) {
        return error(HttpStatus.BAD_REQUEST, "invalid_multipart", "the multipart body cannot be read: " + e.getMessage());
    }

    @ExceptionHandler(Exception.class)
    public ResponseEntity<ObjectNode> other(Exception e) {
        // Spring's own request errors (missing parameter, not acceptable, ...) carry their 4xx status: keep it
        if (e instanceof ErrorResponse r && r.getStatusCode().is4xxClientError()) {
            HttpStatus status = HttpStatus.valueOf(r.getStatusCode().value());
            String detail = r.getBody().getDetail() == null ? e.getMessage() : r.getBody().getDetail();
            return error(status, "invalid_request", detail);
        }
        log.error("unhandled error", e);
        return error(HttpStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal error: " + e.getClass().getSimpleName());
    }

    private static ResponseEntity<ObjectNode> error(HttpStatus status, String code, String message) {
        String type = status.is5xxServerError() ? "server_error" : "invalid_request_error";
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON).body(body(message, type, null, code));
    }

    static ObjectNode body(String message, String type, String param, String code) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode err = root.putObject("error").put("message", message).put("type", type);
        if (param == null) err.putNull("param");
        else err.put("param", param);
        err.put("code", code);
        return root;
    }
}
