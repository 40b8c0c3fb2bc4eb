-- Staff accounts (issue 14): named users with roles, server-side sessions, personal API tokens,
-- failed sign-in attempts (rate limit that survives a restart) and audit by person.

CREATE TABLE users (
  id             bigserial PRIMARY KEY,
  usuario        text NOT NULL,
  nombre         text NOT NULL,
  rol            text NOT NULL CHECK (rol IN ('admin', 'operador', 'lectura')),
  activo         boolean NOT NULL DEFAULT true,
  -- scrypt$N$r$p$salt$hash (base64url); never leaves the database.
  password_hash  text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_usuario_key ON users (lower(usuario));

-- A signed-in browser. The cookie carries a random secret; only its SHA-256 is stored.
CREATE TABLE sessions (
  id            bigserial PRIMARY KEY,
  token_hash    bytea NOT NULL UNIQUE,
  user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token    text NOT NULL,
  ip            text,
  user_agent    text,
  created_at    timestamptz NOT NULL,
  last_seen_at  timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Personal API tokens (scripts, cron). Shown once; only the SHA-256 is stored.
CREATE TABLE api_tokens (
  id            bigserial PRIMARY KEY,
  user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  nombre        text NOT NULL,
  token_hash    bytea NOT NULL UNIQUE,
  -- First characters, so staff can tell tokens apart without the secret.
  prefijo       text NOT NULL,
  created_at    timestamptz NOT NULL,
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
CREATE UNIQUE INDEX api_tokens_nombre_key ON api_tokens (user_id, lower(nombre)) WHERE revoked_at IS NULL;

-- Failed sign-ins, per typed user name and per address, for the limit (kept 1 day).
CREATE TABLE login_failures (
  id       bigserial PRIMARY KEY,
  usuario  text NOT NULL,
  ip       text NOT NULL,
  at       timestamptz NOT NULL
);
CREATE INDEX login_failures_usuario_idx ON login_failures (usuario, at);
CREATE INDEX login_failures_ip_idx ON login_failures (ip, at);

-- Audit by person (the actor is the user name, or "usuario (token nombre)"): the Auditoría
-- page filters by actor and by object, the client page shows its object's history.
CREATE INDEX audit_log_objeto_idx ON audit_log (objeto, at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);
