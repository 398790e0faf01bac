package dev.glimpse.engine;

/** Why a sequence ended; {@code wire()} is the OpenAI finish_reason. */
public enum FinishReason {
    STOP("stop"), LENGTH("length"), CANCELLED("cancelled");

    private final String wire;

    FinishReason(String wire) { this.wire = wire; }

    public String wire() { return wire; }
}
