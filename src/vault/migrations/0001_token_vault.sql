-- Token vault: connected accounts, and connect flows in progress. Tokens and flow secrets are stored
-- sealed only (envelope encryption, src/vault/envelope.ts): `ciphertext` under a per-record data key,
-- that key in `wrapped_key` under the key-encryption key named by `key_id`.

CREATE TABLE vault_grants (
  connection   text        NOT NULL,
  user_iss     text        NOT NULL,
  user_sub     text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('connected', 'disconnected')),
  scopes       text[]      NOT NULL,
  -- expiry of the stored access token; NULL when the provider gave none
  expires_at   timestamptz NULL,
  -- NULL once disconnected: the tokens are dropped
  key_id       text        NULL,
  wrapped_key  bytea       NULL,
  ciphertext   bytea       NULL,
  reason       text        NULL,
  connected_at timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection, user_iss, user_sub),
  CHECK ((key_id IS NULL) = (ciphertext IS NULL) AND (wrapped_key IS NULL) = (ciphertext IS NULL))
);

CREATE INDEX vault_grants_key_id ON vault_grants (key_id);

CREATE TABLE vault_connect_requests (
  -- SHA-256 of the OAuth `state`, and of the one-time code handed to the application after the callback
  state_hash        text        PRIMARY KEY,
  connect_code_hash text        NULL UNIQUE,
  connection        text        NOT NULL,
  user_iss          text        NOT NULL,
  user_sub          text        NOT NULL,
  client_id         text        NOT NULL,
  redirect_uri      text        NOT NULL,
  scopes            text[]      NOT NULL,
  key_id            text        NOT NULL,
  wrapped_key       bytea       NOT NULL,
  ciphertext        bytea       NOT NULL,
  expires_at        timestamptz NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX vault_connect_requests_expires_at ON vault_connect_requests (expires_at);
CREATE INDEX vault_connect_requests_key_id ON vault_connect_requests (key_id);
