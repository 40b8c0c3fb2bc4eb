-- Foundation: plans, clients, payments, campaigns, the notification outbox, audit log, settings.
-- Column names follow the seed's Spanish API fields where the API exposes them.

CREATE TABLE plans (
  id              serial PRIMARY KEY,
  nombre          text NOT NULL,
  velocidad_mbps  integer NOT NULL CHECK (velocidad_mbps > 0),
  precio          numeric(10, 2) NOT NULL CHECK (precio >= 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX plans_nombre_key ON plans (lower(nombre));

CREATE TABLE clients (
  id                  serial PRIMARY KEY,
  cedula              text NOT NULL UNIQUE CHECK (cedula ~ '^[0-9]{10}$'),
  nombre              text NOT NULL,
  telefono            text,
  -- Telephone in international digits (5939XXXXXXXX) for matching a shared Telegram contact.
  telefono_norm       text,
  email               text,
  direccion           text,
  sector              text,
  plan_id             integer REFERENCES plans (id) ON DELETE RESTRICT,
  estado              text NOT NULL DEFAULT 'activo' CHECK (estado IN ('activo', 'suspendido', 'retirado')),
  fecha_ultimo_pago   date,
  dia_pago            smallint CHECK (dia_pago BETWEEN 1 AND 28),
  -- Telegram link
  chat_id             bigint UNIQUE,
  telegram_user_id    bigint,
  telegram_username   text,
  linked_at           timestamptz,
  link_verified       boolean NOT NULL DEFAULT false,
  telegram_blocked    boolean NOT NULL DEFAULT false,
  -- Why Telegram cannot reach this client (blocked, deactivated, chat_not_found), set by the sender.
  telegram_unreachable text,
  -- Notification preferences (payment notices cannot be turned off)
  pref_ofertas        boolean NOT NULL DEFAULT true,
  pref_mantenimiento  boolean NOT NULL DEFAULT true,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clients_plan_idx ON clients (plan_id);
CREATE INDEX clients_sector_idx ON clients (lower(sector));
CREATE INDEX clients_estado_idx ON clients (estado);
CREATE INDEX clients_nombre_idx ON clients (lower(nombre) text_pattern_ops);

CREATE TABLE payments (
  id          serial PRIMARY KEY,
  client_id   integer NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  monto       numeric(10, 2) NOT NULL CHECK (monto > 0),
  fecha       date NOT NULL,
  referencia  text,
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_client_idx ON payments (client_id, fecha DESC);

CREATE TABLE campaigns (
  id               serial PRIMARY KEY,
  nombre           text NOT NULL,
  tipo             text NOT NULL,
  mensaje          text,
  plantilla        text,
  filtros          jsonb NOT NULL DEFAULT '{}'::jsonb,
  urgente          boolean NOT NULL DEFAULT false,
  estado           text NOT NULL DEFAULT 'en_curso' CHECK (estado IN ('en_curso', 'completada', 'cancelada')),
  total            integer NOT NULL DEFAULT 0,
  idempotency_key  text UNIQUE,
  created_by       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  cancelled_at     timestamptz
);

-- The outbox: one row per message to one client. A row is sent at most once per claim; a claim
-- is a lease (locked_until) so rows held by a dead worker return to the queue on their own.
CREATE TABLE notifications (
  id                   bigserial PRIMARY KEY,
  client_id            integer REFERENCES clients (id) ON DELETE CASCADE,
  tipo                 text NOT NULL CHECK (tipo IN ('recordatorio_pago', 'pago_vencido', 'mantenimiento',
                         'oferta', 'bienvenida', 'manual', 'pago_recibido')),
  canal                text NOT NULL DEFAULT 'telegram',
  -- Text as sent (or to send, for manual messages). NULL = rendered from the template when sent.
  mensaje              text,
  estado               text NOT NULL DEFAULT 'pendiente'
                         CHECK (estado IN ('pendiente', 'enviado', 'fallido', 'cancelado')),
  urgente              boolean NOT NULL DEFAULT false,
  intentos             integer NOT NULL DEFAULT 0,
  proximo_intento      timestamptz NOT NULL DEFAULT now(),
  locked_by            text,
  locked_until         timestamptz,
  ultimo_error         text,
  motivo               text,
  chat_id              bigint,
  telegram_message_id  bigint,
  dedupe_key           text UNIQUE,
  campaign_id          integer REFERENCES campaigns (id) ON DELETE SET NULL,
  -- Due date of the billing cycle a payment notice belongs to.
  ciclo                date,
  datos                jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at           timestamptz NOT NULL DEFAULT now(),
  sent_at              timestamptz,
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_due_idx ON notifications (proximo_intento) WHERE estado = 'pendiente';
CREATE INDEX notifications_client_idx ON notifications (client_id, created_at DESC);
CREATE INDEX notifications_campaign_idx ON notifications (campaign_id, estado) WHERE campaign_id IS NOT NULL;
CREATE INDEX notifications_created_idx ON notifications (created_at);

CREATE TABLE audit_log (
  id       bigserial PRIMARY KEY,
  actor    text NOT NULL,
  accion   text NOT NULL,
  objeto   text,
  detalles jsonb NOT NULL DEFAULT '{}'::jsonb,
  at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);

-- Settings staff can change at run time (company data, templates…), over the environment defaults.
CREATE TABLE settings (
  key         text PRIMARY KEY,
  value       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Replays of requests that carried an Idempotency-Key answer the first result.
CREATE TABLE idempotency_keys (
  scope       text NOT NULL,
  key         text NOT NULL,
  status      integer NOT NULL,
  response    jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);

-- Billing cycle, shared by the client list, the generator and the bot.
-- Without a billing day: due `cycle_days` after the last payment.
-- With a billing day (1–28): the payment covers the billing date nearest to it; the next one is
-- due one month after that date.
CREATE FUNCTION teltec_due_date(last_payment date, billing_day integer, cycle_days integer)
RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN last_payment IS NULL THEN NULL
    WHEN billing_day IS NULL THEN last_payment + cycle_days
    ELSE (
      CASE
        WHEN last_payment <= make_date(extract(year FROM last_payment)::int, extract(month FROM last_payment)::int, billing_day)
        THEN CASE
          WHEN make_date(extract(year FROM last_payment)::int, extract(month FROM last_payment)::int, billing_day) - last_payment
               <= last_payment - (make_date(extract(year FROM last_payment)::int, extract(month FROM last_payment)::int, billing_day) - interval '1 month')::date
          THEN make_date(extract(year FROM last_payment)::int, extract(month FROM last_payment)::int, billing_day)
          ELSE (make_date(extract(year FROM last_payment)::int, extract(month FROM last_payment)::int, billing_day) - interval '1 month')::date
        END
        ELSE CASE
          WHEN last_payment - make_date(extract(year FROM last_payment)::int, extract(month FROM last_payment)::int, billing_day)
               <= (make_date(extract(year FROM last_payment)::int, extract(month FROM last_payment)::int, billing_day) + interval '1 month')::date - last_payment
          THEN make_date(extract(year FROM last_payment)::int, extract(month FROM last_payment)::int, billing_day)
          ELSE (make_date(extract(year FROM last_payment)::int, extract(month FROM last_payment)::int, billing_day) + interval '1 month')::date
        END
      END + interval '1 month')::date
  END
$$;

-- 'sin_fecha' | 'al_dia' | 'por_vencer' (inside the reminder window) | 'vencido' (from the due date on).
CREATE FUNCTION teltec_payment_state(due date, today date, reminder_days integer)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN due IS NULL THEN 'sin_fecha'
    WHEN today >= due THEN 'vencido'
    WHEN today >= due - reminder_days THEN 'por_vencer'
    ELSE 'al_dia'
  END
$$;
