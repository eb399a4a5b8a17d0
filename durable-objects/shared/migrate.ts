/** Applies a Durable Object's append-only SQLite migration list, synchronously, in its constructor. */

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/**
 * Runs every migration not yet recorded in `_schema_migrations`, in id order, each in the same
 * synchronous block as its record. Never edit an applied entry; append a new one.
 */
export function migrate(sql: SqlStorage, migrations: readonly Migration[]): void {
  sql.exec(
    "CREATE TABLE IF NOT EXISTS _schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  );
  const applied = new Set(
    sql.exec<{ id: number }>("SELECT id FROM _schema_migrations").toArray().map((row) => row.id),
  );
  for (const migration of migrations) {
    if (!applied.has(migration.id)) {
      sql.exec(migration.sql);
      sql.exec(
        "INSERT INTO _schema_migrations (id, name, applied_at) VALUES (?, ?, ?)",
        migration.id,
        migration.name,
        Date.now(),
      );
    }
  }
}
