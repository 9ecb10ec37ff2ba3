-- One audit job's write as a function: the worker sends the batch's columns as arrays, one short
-- statement; PL/pgSQL keeps the plans of the two statements below for the connection's lifetime,
-- where a statement of this size sent as text is parsed and planned again for every job, which cost
-- more than writing a few events. The generic plan is forced: the arrays' lengths change from job to
-- job and no plan depends on them.
--
-- Events must come sorted by session, incarnation and version, sessions sorted by session id, and
-- the events are written first: concurrent jobs then take the rows they share in the same order and
-- cannot deadlock. Returns the number of events new to session_events; the others were already there
-- (a redelivery, or another event under the same session, incarnation and version).

CREATE FUNCTION audit_write_batch(
  event_session_ids uuid[], event_incarnations text[], event_versions int4[], event_ids text[], event_types text[],
  event_at_ms int8[], event_payloads jsonb[],
  session_ids uuid[], session_incarnations text[], sync_modes text[], configs jsonb[], created_ms int8[], started_ms int8[],
  ended_ms int8[], deleted_ms int8[], statuses text[], last_versions int4[], last_event_ids text[], last_event_ms int8[],
  snapshot_versions int4[], snapshots jsonb[]
) RETURNS integer
  LANGUAGE plpgsql
  SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  inserted integer;
BEGIN
  INSERT INTO session_events (session_id, incarnation, version, event_id, type, at, payload)
  SELECT r.session_id, r.incarnation, r.version, r.event_id, r.type, timestamptz 'epoch' + r.at_ms * interval '1 millisecond', r.payload
  FROM unnest(event_session_ids, event_incarnations, event_versions, event_ids, event_types, event_at_ms, event_payloads)
    AS r(session_id, incarnation, version, event_id, type, at_ms, payload)
  ON CONFLICT (session_id, incarnation, version) DO NOTHING;
  GET DIAGNOSTICS inserted = ROW_COUNT;

  -- The row follows the newest incarnation of the session id: a newer one replaces it, an older one (a
  -- late batch) leaves it alone (the WHERE). Within one incarnation, fields fixed at creation are
  -- filled once; the state fields follow the newest snapshot and the last-event fields the highest
  -- version, whatever order batches arrive in (retries, concurrent jobs). Where SET applies the WHERE
  -- has held, so an incarnation other than the row's is a newer one.
  INSERT INTO sessions AS s (session_id, incarnation, sync_mode, config, created_at, started_at, ended_at, deleted_at, status,
    last_version, last_event_id, last_event_at, snapshot_version, last_snapshot)
  SELECT r.session_id, r.incarnation, r.sync_mode, r.config,
    timestamptz 'epoch' + r.created_ms * interval '1 millisecond',
    timestamptz 'epoch' + r.started_ms * interval '1 millisecond',
    timestamptz 'epoch' + r.ended_ms * interval '1 millisecond',
    timestamptz 'epoch' + r.deleted_ms * interval '1 millisecond',
    r.status, r.last_version, r.last_event_id,
    timestamptz 'epoch' + r.last_event_ms * interval '1 millisecond',
    r.snapshot_version, r.snapshot
  FROM unnest(session_ids, session_incarnations, sync_modes, configs, created_ms, started_ms, ended_ms, deleted_ms, statuses,
      last_versions, last_event_ids, last_event_ms, snapshot_versions, snapshots)
    AS r(session_id, incarnation, sync_mode, config, created_ms, started_ms, ended_ms, deleted_ms, status, last_version,
      last_event_id, last_event_ms, snapshot_version, snapshot)
  ON CONFLICT (session_id) DO UPDATE SET
    incarnation = excluded.incarnation,
    sync_mode = CASE WHEN excluded.incarnation <> s.incarnation THEN excluded.sync_mode ELSE coalesce(s.sync_mode, excluded.sync_mode) END,
    config = CASE WHEN excluded.incarnation <> s.incarnation THEN excluded.config ELSE coalesce(s.config, excluded.config) END,
    created_at = CASE WHEN excluded.incarnation <> s.incarnation THEN excluded.created_at ELSE coalesce(s.created_at, excluded.created_at) END,
    deleted_at = CASE WHEN excluded.incarnation <> s.incarnation THEN excluded.deleted_at ELSE coalesce(s.deleted_at, excluded.deleted_at) END,
    status = CASE
      WHEN excluded.incarnation <> s.incarnation THEN excluded.status
      WHEN coalesce(s.deleted_at, excluded.deleted_at) IS NOT NULL THEN 'deleted'
      WHEN excluded.snapshot_version > coalesce(s.snapshot_version, 0) THEN excluded.status
      ELSE s.status END,
    started_at = CASE WHEN excluded.incarnation <> s.incarnation OR excluded.snapshot_version > coalesce(s.snapshot_version, 0)
      THEN excluded.started_at ELSE s.started_at END,
    ended_at = CASE WHEN excluded.incarnation <> s.incarnation OR excluded.snapshot_version > coalesce(s.snapshot_version, 0)
      THEN excluded.ended_at ELSE s.ended_at END,
    last_snapshot = CASE WHEN excluded.incarnation <> s.incarnation OR excluded.snapshot_version > coalesce(s.snapshot_version, 0)
      THEN excluded.last_snapshot ELSE s.last_snapshot END,
    snapshot_version = CASE WHEN excluded.incarnation <> s.incarnation THEN excluded.snapshot_version
      ELSE greatest(s.snapshot_version, excluded.snapshot_version) END,
    last_event_id = CASE WHEN excluded.incarnation <> s.incarnation OR excluded.last_version > s.last_version
      THEN excluded.last_event_id ELSE s.last_event_id END,
    last_event_at = CASE WHEN excluded.incarnation <> s.incarnation OR excluded.last_version > s.last_version
      THEN excluded.last_event_at ELSE s.last_event_at END,
    last_version = CASE WHEN excluded.incarnation <> s.incarnation THEN excluded.last_version
      ELSE greatest(s.last_version, excluded.last_version) END
  WHERE incarnation_order(excluded.incarnation) >= incarnation_order(s.incarnation);

  RETURN inserted;
END
$$;
