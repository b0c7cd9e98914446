CREATE TABLE credit_ledger (
    payment_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    credits INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX credit_ledger_user ON credit_ledger (user_id);
