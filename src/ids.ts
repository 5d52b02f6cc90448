const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID as text: ids from a path are checked before Postgres would fail to cast them. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
