-- Durable state of batches and caption jobs. Portable SQL: runs on the embedded H2 (default) and on PostgreSQL.
-- Times are epoch seconds (OpenAI's wire format); counts on jobs are kept in the same transaction as the item they
-- count, so progress reads are O(1) and always agree with the items.

CREATE TABLE files (
    id          VARCHAR(64)  PRIMARY KEY,
    purpose     VARCHAR(32)  NOT NULL,   -- batch | batch_output | caption_source
    filename    VARCHAR(512) NOT NULL,
    bytes       BIGINT       NOT NULL,
    created_at  BIGINT       NOT NULL,
    job_id      VARCHAR(64),             -- generated files: the job whose items they list
    kind        VARCHAR(16)  NOT NULL    -- upload (bytes on disk) | output | errors (rendered from job_items)
);

CREATE TABLE jobs (
    id              VARCHAR(64)   PRIMARY KEY,
    kind            VARCHAR(16)   NOT NULL,   -- batch | caption
    status          VARCHAR(16)   NOT NULL,
    model           VARCHAR(256)  NOT NULL,
    spec            VARCHAR(65536) NOT NULL,  -- JSON: what the job was created with (kind-specific)
    total           INT           NOT NULL DEFAULT 0,
    completed       INT           NOT NULL DEFAULT 0,
    failed          INT           NOT NULL DEFAULT 0,
    tokens          BIGINT        NOT NULL DEFAULT 0,
    error           VARCHAR(4096),
    created_at      BIGINT        NOT NULL,
    started_at      BIGINT,
    finalizing_at   BIGINT,
    finished_at     BIGINT,
    cancelling_at   BIGINT,
    -- wall seconds spent running, summed over server lifetimes (rate and ETA survive restarts)
    run_seconds     DOUBLE PRECISION NOT NULL DEFAULT 0
);

CREATE INDEX jobs_by_status ON jobs (status, created_at);

-- One row per unit of work: a batch input line or an image. input is a locator, never the payload: a byte range
-- "offset:length" of the uploaded JSONL (lines can hold megabytes of base64) or an image path relative to the source.
CREATE TABLE job_items (
    job_id      VARCHAR(64)     NOT NULL,
    idx         INT             NOT NULL,
    input       VARCHAR(4096)   NOT NULL,
    state       SMALLINT        NOT NULL DEFAULT 0,   -- 0 pending, 1 completed, 2 failed
    result      VARCHAR(1000000),                      -- JSON line of the output (or error) file
    tokens      INT,
    finished_at BIGINT,
    PRIMARY KEY (job_id, idx)
);

CREATE INDEX job_items_by_state ON job_items (job_id, state, idx);
