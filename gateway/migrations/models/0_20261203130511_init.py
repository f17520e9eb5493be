from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "workspace" (
    "id" UUID NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS "api_key" (
    "id" UUID NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "prefix" VARCHAR(16) NOT NULL UNIQUE,
    "secret_hash" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_used_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "api_key" IS 'An API key. Only a SHA-256 hash of the secret is stored.';
CREATE TABLE IF NOT EXISTS "event" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "type" VARCHAR(64) NOT NULL,
    "post_id" UUID,
    "integration_id" UUID,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_event_workspa_33a201" ON "event" ("workspace_id", "id");
CREATE INDEX IF NOT EXISTS "idx_event_post_id_98bdf6" ON "event" ("post_id", "id");
CREATE INDEX IF NOT EXISTS "idx_event_integra_3b6523" ON "event" ("integration_id", "id");
COMMENT ON TABLE "event" IS 'The durable log of everything that happened: audit trail and SSE replay.';
CREATE TABLE IF NOT EXISTS "integration" (
    "id" UUID NOT NULL PRIMARY KEY,
    "platform" VARCHAR(50) NOT NULL,
    "external_id" VARCHAR(255) NOT NULL,
    "handle" VARCHAR(255) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "url" VARCHAR(1000) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "status_reason" TEXT NOT NULL,
    "credentials" TEXT,
    "token_expires_at" TIMESTAMPTZ,
    "refresh_expires_at" TIMESTAMPTZ,
    "expiry_warned_at" TIMESTAMPTZ,
    "connected_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "disconnected_at" TIMESTAMPTZ,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_integration_workspa_ff30bd" UNIQUE ("workspace_id", "platform", "external_id")
);
CREATE INDEX IF NOT EXISTS "idx_integration_status_6b4c28" ON "integration" ("status", "token_expires_at");
COMMENT ON COLUMN "integration"."status" IS 'ACTIVE: active\nREFRESH_NEEDED: refresh_needed\nDISABLED: disabled';
COMMENT ON TABLE "integration" IS 'One connected account. Reconnecting the same account updates this row.';
CREATE TABLE IF NOT EXISTS "oauth_state" (
    "id" UUID NOT NULL PRIMARY KEY,
    "platform" VARCHAR(50) NOT NULL,
    "key_hash" VARCHAR(64) NOT NULL UNIQUE,
    "secrets" TEXT NOT NULL,
    "source" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "consumed_at" TIMESTAMPTZ,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE CASCADE
);
COMMENT ON COLUMN "oauth_state"."source" IS 'API: api\nMCP: mcp\nDASHBOARD: dashboard';
COMMENT ON TABLE "oauth_state" IS 'A connection in progress: single-use, expiring, bound to its workspace.';
CREATE TABLE IF NOT EXISTS "post" (
    "id" UUID NOT NULL PRIMARY KEY,
    "group_id" UUID NOT NULL,
    "text" TEXT NOT NULL,
    "thread" JSONB NOT NULL,
    "options" JSONB NOT NULL,
    "scheduled_for" TIMESTAMPTZ,
    "time_zone" VARCHAR(64),
    "status" VARCHAR(16) NOT NULL,
    "external_id" VARCHAR(255),
    "external_url" VARCHAR(1000),
    "part_ids" JSONB NOT NULL,
    "error_code" VARCHAR(64),
    "error_message" TEXT,
    "idempotency_key" VARCHAR(255),
    "request_hash" VARCHAR(64),
    "source" VARCHAR(16) NOT NULL,
    "retry_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "published_at" TIMESTAMPTZ,
    "integration_id" UUID NOT NULL REFERENCES "integration" ("id") ON DELETE RESTRICT,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_post_workspa_77cbd0" UNIQUE ("workspace_id", "idempotency_key", "integration_id")
);
CREATE INDEX IF NOT EXISTS "post_due_idx" ON "post" ("scheduled_for") WHERE status = 'SCHEDULED';
CREATE INDEX IF NOT EXISTS "idx_post_status_b8b788" ON "post" ("status", "updated_at");
CREATE INDEX IF NOT EXISTS "idx_post_workspa_518a83" ON "post" ("workspace_id", "created_at", "id");
CREATE INDEX IF NOT EXISTS "idx_post_integra_8b7ef1" ON "post" ("integration_id", "status");
CREATE INDEX IF NOT EXISTS "idx_post_group_i_4669a5" ON "post" ("group_id");
COMMENT ON COLUMN "post"."status" IS 'SCHEDULED: SCHEDULED\nPUBLISHING: PUBLISHING\nPUBLISHED: PUBLISHED\nFAILED: FAILED\nCANCELLED: CANCELLED\nUNKNOWN: UNKNOWN';
COMMENT ON COLUMN "post"."source" IS 'API: api\nMCP: mcp\nDASHBOARD: dashboard';
COMMENT ON TABLE "post" IS 'One piece of content for one integration.';
CREATE TABLE IF NOT EXISTS "publish_attempt" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "number" INT NOT NULL,
    "started_at" TIMESTAMPTZ NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "outcome" VARCHAR(16),
    "error_code" VARCHAR(64),
    "error_message" TEXT,
    "worker" VARCHAR(255) NOT NULL,
    "post_id" UUID NOT NULL REFERENCES "post" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_publish_att_post_id_156c65" UNIQUE ("post_id", "number")
);
COMMENT ON COLUMN "publish_attempt"."outcome" IS 'PUBLISHED: published\nRETRY: retry\nFAILED: failed\nUNKNOWN: unknown\nRECONCILED: reconciled\nABANDONED: abandoned';
COMMENT ON TABLE "publish_attempt" IS 'One try to publish a post, committed before the platform is called.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXetz2rgW/1c0fNneGZpJaZL2MvfeGYe4DbcpZIBu9+6y4whbgCdG9tpyUrbb//1Kfr"
    "9jE0OMV18SkM6Rxe/odV7y985GV5BmnQiG+gltO33wvYPhBtEPiZou6EDDCMtZAYELzSGF"
    "hirde0QLi5hQJrR4CTUL0SIFWbKpGkTVMSMWMBBuh4DSn4Ax1rYAgum18Lp3fgHW0FoDfQ"
    "nIGgELySYiQLWARXQTKSesdUWXafMqXj23IRurf9hIIvoKURqTNvfb77RYxQr6hiz/q3Ev"
    "LVWkKTFcVIU14JRLZGs4ZV++DK8+OJSskwtJ1jV7g0NqY0vWOg7IbVtVThgPq1shjExIkB"
    "KBDNua5oHrF7k9pgXEtFHQVSUsUNAS2hoDvvOvpY1lhjdwnsT+nP3H61qETJJG45k0FWeS"
    "1EnJiXUhgbhXJOuYyVjFhAH1/YfbbgiIU9phDxhcC5NXby/+4UCgW2RlOpUOXJ0fDiMk0G"
    "V1QA9Rdv6ncB6soZmNs0+fQJp2dBeM/YIQ5HAw+/D5AO0B0s4GfpM0hFdkTb/2Tk8LMP5Z"
    "mDgwUyoHZ53OPndWjryqnlvH8A7xNUy0VL9VQTjkqAfjp8fxwRB+c1EC4DcXufiyqji87q"
    "IjsXWoCsYJthYO5ouzElBfnOVCzariUFPEGBgSJGmkr2gNUTcoG+04ZwJsxWM98T8cI/T0"
    "Bypsa/RmVwH0s+FncToTPt+yx20s6w/NwU+Yiaym55RuE6WvkjMiaAR8Hc6uAfsKfh2PxO"
    "T6H9DNfu2wPkGb6BLWHyWoRBYCv9RHLSZ1DVpEsq2d5J7krUHyXpebIvgjEbSPSaGkTfSg"
    "3+8k5zgnl3KTpfyom/eWAWUkVTtfJ/nqPGk3V7xPHKyZ7rK8zzxXB3ilQf5AtSN1ham250"
    "A9pJ2BWM46VXuq4ddoW8cJblgaTm8TPgZqX2p8URTob0fEPcgJ04FwJXYcwBdQvn+EpiLF"
    "kGc1ek9PlAS06apNb5MsgRiuHITYT2Ed9/AXH5DT75TO7lZ0i1R2FJA8qbDPqBKt2CbjBJ"
    "q+Yno15TbpkKAAUxUbEqpvGwaVv9IH0FZUAhikGoBYAdOpCExkaHCbVuDraniO5/juTlXu"
    "7oDO7AArU3+0ug4V1fqZDYARM4r+3d0J/cCmjOTQUxqHFxO0oqOX/mKv3ESAtq1i4C41tD"
    "msE7B0pwizOdASS3caX6vMsLCdY90mmvqALACBO0YUwJ5U0uDwvROKPTXs6F9Gjr5RLcyy"
    "aDeD0eGJ3hvl/gztOMQULeeLs9JGWvd+f/0Nx3Gsof1KVphLdTXEpIIdRnWnQHTp8taA5i"
    "quK9aF1//s9d6+fdc7fXvx/vzs3bvz96fvKa3T33TVu4Kd5HL4cTiaxfd9VlBsnXEATOGf"
    "r9f69FyhLaHQRmZn2VNQhOUZB6DjOd4+aViMLBSpJam06TbFybFNjFS41XSYAep/p+NRzk"
    "gNWZIKmSoT8BfQ6G66r0UhYhhf2KpGVGydsMe+hG2cQRRTzvwl4dVn4ZfkajG4GV8m5cEa"
    "uOS2MG4L47pznesb153/FrrzMNzcOxkadLS6W6RHqwnCJ7XpMUZUp8QYyUw/hLKs25icgA"
    "nyCl3VFwGLdsivBrbBVl6my1KFlmq3aV26vmYzNNXf4kOfKsaEasIbT1dDJoYaE/HvRRot"
    "nRDEdrHT7xGWqEao0pnHNpyDKYjcTV+3mz46FEo7kiM8LVQIz8t468/znfXnKV99dI5VwD"
    "nB1kKoe+fnZSIjzs/zIyNYXRztNcSKVsm6EXJwjMth3Pzons6+1uEDoGubWhVwPfLWYfvm"
    "tFTgFCPLj+w5TYdOhSeZNMIitjcpDSAe4hNwHxBweiJVH1BF2DvCYDb8WewDl3uOJ+KHiT"
    "i9lkaieCVe9YGJlvSksJYwQgpS5vhqOBUub1iNolqsv0rymFou3K1UtFtBsFu2wCQTQcs9"
    "pcflNqMbZU44VpKxBXOkyO4h/jIrNkkFZo+b8eijT560U6VMUgrCRIVaxpTJhz7BthPwx2"
    "Nz3QvyKT0rBX+xSTCLnwfRNDmIxl+Qd5d5dgtc6k2WuiOrrfQITbyT6T+Ln0u8yRIPDH27"
    "OHoSvNzV0xTRl3H1uBbbXeQe5+RSb4rUMya81/tQ6lSdes6Uz2Dn63tzxM0dutyh2whw9+"
    "7Qjce4ZdgDLj22D58mSAucqtmA3+r7CxR6Aax/7NPbPRZssp4S6Egq5eyO1HaLfN06XbTW"
    "khUQPp3q7bukmY9TxcAwdTY5rT6wKEQaem0zLkf/oN+7YKHbWAFEByqxQDDYMjK/62uXJ4"
    "I3YInucg/zy3qY79G2cq5ylKd1GeH1R3W7qd2VbOARllaM4kMbwC3dNrPOdiUddQH3IR11"
    "hlrZS3c77APKN8efB7d9sJGNOb4SpteXY2HCXHF0ii50eoLYxRdX/8UIPEI5H/rjNGCUMV"
    "vt7pCo3RHRNKkfiZTL2qUte7OrWTrKyu1TTZYzt09x+1QTbCbdI0o4cMxVGcYX34yVb3Yx"
    "fIpSuQWGimTEUukpWgRhJ2cd6LQikqmQnT5QmvPpDAFVQRtDp43IW/9iwGiiRHGigLxGiq"
    "3RrYA+/4ncADfxVbGZwJ2ryTKzBMDXa3EiAjeaC/wb/DQdXItXX27Eq59SGexheF7EYVZj"
    "hnxyiMZPtfvOxvd+XY3PWJm6bUiHzPLnJra6TWyBDCtgHeU59DZ+PJhHgvHocK9i+/Hpue"
    "Fnl8jHNVOl03Dnp6WHHM3ISmfPa01Wuu70MMP0mS+PCEszBNKqawLiR6yUWIo19RQz19Wb"
    "rKszCUh/0mN8Fd9OjKkNsfd79+4cXU5QdbA7gdrUB8HHOb79cnkznF4PRx/7IPwclDPq4O"
    "McfxCGTgPu/zkeCKOBeOMUBR/n+Mvo02j8ddQH3odm+C5eMA+30dNpL0mMAWoVsxmTfO2D"
    "e195jQY02SVilc5pUZ5mHNRadXJGpqmbFG6l0u4d52rfBKh/+3YR2yDLgqsMqPPV9BRjG9"
    "A+tLqeYS0uO9QzWNsggQPsryaiv9Sq/oqKJF/74N6DdsADkRoXiGQiYm53ypAN+bjlo8mW"
    "Dx5qlj+52htqxjMk2yb1jMmeypA07AVV/NY7yT3Jy1f15gg6Pb8bcp930+Z2PV5qHtjHA/"
    "uON7AvZ5moAePEdcAtRTm9QMZwntC1ezIczMpl+EJC0MZ4dpKvuzcLbmMtwn6v6b4J1LKi"
    "TlO4FsSfurQSjBCXCkWlijJLuvX4AXTehtQFsr7ZqIRdU71A7IVKzr3Ufsome2OTDDUt64"
    "XPNbWZGb7qB9lie7OgZckI1UoRivw9RKzuEO8h8qSVkkAu/CHD0yI4gtXFk0Lvzdm7s/dv"
    "L84C8IOSIsx9fGNhDOZuynOckyvPTdGpyphMlireVXdOsHLVucmqs24Tuk/u7IeIsDfY6d"
    "OJxB0Flh12d/Fs8j92ZTFhb2r0o5CWUNVYbRBvZON7ih5m9IPxaOBSmewlGrJLKVwKoysq"
    "H1oMFxArOt7tluM9RCfxWAEeK9Co9XEfsQLMEpB14ssf4SFHC27vPkBgwIu9frJpJ769WP"
    "58PfOZBqmWXX7WTViiIgOqSTm8oak1w6QSs8PmW1Nipt8n7Sj5yPKLyxow0btFtokXfcdN"
    "g+7S6pUKV+4VRCv30sHKPLgjH/12WSpSm2kp74OhsnjQZ3ofBEP95AaVHtkQyPU6xBSZB4"
    "Sf658RWRttBSjiD3smTO30H8aNS+HlsM8EK34dbRux4rcfH9QdKiBTldedjDO7V1N4YIch"
    "TWNO638X9+IzHVv5h/MHZFqZoSH55/MIS5OzdJtkSmKTqgLCHnkL0X1TNmOzKGEzpQK513"
    "SlEc5P14ywHD5b82VMdbXlZVbQQ+rfzH78H8wlstk="
)
