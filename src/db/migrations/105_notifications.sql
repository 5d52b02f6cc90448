-- Webhook subscriptions of a project, what was delivered to them, and per-export lateness alerts (issue 12).

CREATE TABLE notification_subscriptions (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id           bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url               text NOT NULL,
    -- The signing secret, encrypted with ENCRYPTION_KEY: it must be read back to sign, so it cannot be hashed.
    secret_encrypted  text NOT NULL,
    events            text[] NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_subscriptions_team_id_idx ON notification_subscriptions (team_id);

CREATE TABLE notification_deliveries (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subscription_id     uuid NOT NULL REFERENCES notification_subscriptions (id) ON DELETE CASCADE,
    -- At most once per event and subscription: a second emit of the same event finds this row and does nothing.
    event_id            text NOT NULL,
    event               text NOT NULL,
    payload             jsonb NOT NULL,
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts            integer NOT NULL DEFAULT 0,
    last_response_code  integer,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    delivered_at        timestamptz,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX notification_deliveries_subscription_idx ON notification_deliveries (subscription_id, created_at DESC);

CREATE TABLE batch_export_freshness_alerts (
    batch_export_id     uuid PRIMARY KEY REFERENCES batch_exports (id) ON DELETE CASCADE,
    -- Late once the freshness lag is above this.
    late_after_seconds  integer NOT NULL CHECK (late_after_seconds > 0),
    -- Set while the export is late (one "late" event), cleared when it recovers (one "recovered" event).
    late_since          timestamptz
);
