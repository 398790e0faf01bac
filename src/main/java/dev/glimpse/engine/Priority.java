package dev.glimpse.engine;

/** Admission class of a request: interactive API calls go before background work (batch and caption-job items). */
public enum Priority {
    INTERACTIVE,
    BACKGROUND
}
