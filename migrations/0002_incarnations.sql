-- A session id may be deleted and created again. Each session of an id is an incarnation, named by the
-- Redis stream id of its first event ("<ms>-<seq>"); '' marks sessions audited before incarnations were
-- recorded, which come first. Every incarnation's events are kept; the sessions row follows the newest.

ALTER TABLE session_events ADD COLUMN incarnation text NOT NULL DEFAULT '';
ALTER TABLE session_events DROP CONSTRAINT session_events_pkey;
-- Unique per incarnation and version (redelivery never duplicates a row), and the index of an
-- incarnation's history in version order, both ways.
ALTER TABLE session_events ADD PRIMARY KEY (session_id, incarnation, version);

ALTER TABLE sessions ADD COLUMN incarnation text NOT NULL DEFAULT '';

-- Incarnations in the order they were created: by the numbers of their ids, never as strings.
CREATE FUNCTION incarnation_order(incarnation text) RETURNS bigint[]
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN CASE WHEN incarnation = '' THEN ARRAY[-1, -1]::bigint[]
    ELSE ARRAY[split_part(incarnation, '-', 1)::bigint, split_part(incarnation, '-', 2)::bigint] END;
