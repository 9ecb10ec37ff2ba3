-- The audit of every committed event, and one row per session with its last known state.
-- Written only by the audit worker (idempotently: a redelivered batch changes nothing); read for a
-- session's history and for sessions that have left Redis.

CREATE TABLE sessions (
  session_id       uuid PRIMARY KEY,
  -- Fixed at creation. Null only while the row is known from a deletion alone (its earlier batches
  -- are still on their way).
  sync_mode        text,
  config           jsonb,
  created_at       timestamptz,
  started_at       timestamptz,
  ended_at         timestamptz,
  deleted_at       timestamptz,
  status           text NOT NULL CHECK (status IN ('pending', 'running', 'paused', 'expired', 'completed', 'cancelled', 'deleted')),
  -- The last event audited, and the last snapshot (the state after event snapshot_version; a
  -- deletion leaves the snapshot before it).
  last_version     integer NOT NULL CHECK (last_version > 0),
  last_event_id    text NOT NULL,
  last_event_at    timestamptz NOT NULL,
  snapshot_version integer,
  last_snapshot    jsonb,
  recorded_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE session_events (
  session_id  uuid NOT NULL,
  version     integer NOT NULL CHECK (version > 0),
  -- Id of the event in the session's Redis stream ("<ms>-<seq>"): what clients resume from.
  event_id    text NOT NULL,
  type        text NOT NULL,
  at          timestamptz NOT NULL,
  payload     jsonb NOT NULL,
  -- When the audit wrote the row: recorded_at minus the event id's milliseconds is the audit lag.
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Unique per session version (redelivery never duplicates a row) and the index of a session's
  -- history in version order, both ways.
  PRIMARY KEY (session_id, version)
);
