/**
 * Timezones as Temporal accepts them. Temporal's server (Go's time.LoadLocation) knows IANA names spelled exactly,
 * "UTC" included; luxon also takes fixed offsets ("UTC+2") and Intl takes any case ("utc"): a schedule saved with one
 * of those fails in Temporal. Checked against the dev server by test/api/timezones.test.ts.
 */

const ICU_NAMES = new Set(Intl.supportedValuesOf('timeZone'));

/** Intl's name for the zone, or null when it does not know one. */
function canonicalName(name: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

export function isValidTimezone(name: string): boolean {
  const canonical = canonicalName(name);
  if (canonical === null) return false;
  if (name === canonical || ICU_NAMES.has(name)) return true;
  // Intl matches names in any case; Temporal does not.
  if (name.toLowerCase() === canonical.toLowerCase()) return false;
  // A link ICU knows under another name (Asia/Kolkata for Asia/Calcutta), spelled as IANA spells names.
  return name.split('/').every((part) => /^[A-Z]/.test(part));
}
