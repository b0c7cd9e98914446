-- The product docs' shapes: tasks gain a description and a priority, and a
-- finished task is `completed` (it was `done`); tasks are assigned through
-- task_assignments; the bulk import notifies through notifications; the
-- contact form is stored; the Stripe webhook keeps orders and subscriptions.
CREATE TABLE tasks_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id TEXT NOT NULL,
    external_id TEXT,
    title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description TEXT CHECK (description IS NULL OR length(description) <= 10000),
    status TEXT NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'in_progress', 'completed')),
    priority TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
    created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
    updated_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
    completed_at INTEGER,
    UNIQUE (owner_id, external_id)
);
INSERT INTO tasks_v2 (id, owner_id, external_id, title, status, created_at, updated_at, completed_at)
    SELECT id, owner_id, external_id, title, CASE status WHEN 'done' THEN 'completed' ELSE status END,
           created_at, COALESCE(completed_at, created_at), completed_at
    FROM tasks;
CREATE TABLE task_assignments (
    task_id INTEGER NOT NULL REFERENCES tasks_v2 (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    PRIMARY KEY (task_id, user_id)
);
INSERT INTO task_assignments (task_id, user_id) SELECT id, assignee FROM tasks WHERE assignee IS NOT NULL;
DROP TABLE tasks;
ALTER TABLE tasks_v2 RENAME TO tasks;
CREATE INDEX tasks_owner_status ON tasks (owner_id, status);
CREATE INDEX task_assignments_user ON task_assignments (user_id);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    message TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1)),
    created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
CREATE INDEX notifications_unread ON notifications (user_id, read);

CREATE TABLE contact_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    message TEXT NOT NULL,
    request_id TEXT NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_intent_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid')),
    amount INTEGER,
    currency TEXT,
    customer_email TEXT,
    created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
    paid_at INTEGER
);

CREATE TABLE subscriptions (
    stripe_customer_id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    status TEXT NOT NULL,
    plan TEXT,
    updated_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
