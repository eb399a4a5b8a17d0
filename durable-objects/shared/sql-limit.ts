/**
 * A LIMIT clause with the row count written into the SQL as a literal. SQLite re-plans a
 * statement whose LIMIT is a bound parameter on every run (about 10 us each, measured in
 * workerd), so statements that run per message or per fan-out batch use this; a statement whose
 * limit comes from each request (a sync page) keeps its parameter.
 */
export function limitClause(rows: number): string {
  if (!Number.isSafeInteger(rows) || rows <= 0) {
    throw new RangeError(`LIMIT must be a positive integer, got ${rows}`);
  }
  return `LIMIT ${rows}`;
}
