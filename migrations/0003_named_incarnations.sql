-- Every audited session names its incarnation. Rows audited before migration 0002 carry '' instead;
-- they get the id of their session's first event audited under '', the name the stream id of that
-- first event gives every later incarnation, and which precedes the first id of any incarnation
-- created after it. (Sessions deleted and created again before 0002 share their version numbers, so
-- only the first of them was audited in full: its events and the later versions of the second, which
-- nothing in the rows tells apart.)

UPDATE sessions s SET incarnation = coalesce(
  (SELECT e.event_id FROM session_events e WHERE e.session_id = s.session_id AND e.incarnation = '' ORDER BY e.version LIMIT 1),
  s.last_event_id)
WHERE s.incarnation = '';

UPDATE session_events e SET incarnation = first.event_id
FROM (
  SELECT DISTINCT ON (session_id) session_id, event_id FROM session_events WHERE incarnation = '' ORDER BY session_id, version
) AS first
WHERE e.session_id = first.session_id AND e.incarnation = '';

-- From now on a row without one is refused rather than ordered first.
ALTER TABLE session_events ALTER COLUMN incarnation DROP DEFAULT,
  ADD CONSTRAINT session_events_incarnation_named CHECK (incarnation <> '');
ALTER TABLE sessions ALTER COLUMN incarnation DROP DEFAULT,
  ADD CONSTRAINT sessions_incarnation_named CHECK (incarnation <> '');

-- Without the '' case (and without STRICT, whose proof a CASE or an ARRAY defeats) the planner inlines
-- the function into the query instead of calling it row by row.
CREATE OR REPLACE FUNCTION incarnation_order(incarnation text) RETURNS bigint[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ARRAY[split_part(incarnation, '-', 1)::bigint, split_part(incarnation, '-', 2)::bigint];
