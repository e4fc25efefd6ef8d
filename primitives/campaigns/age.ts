/**
 * A customer's age at the run date, for the minors exclusion, from one of three sources:
 *  - a resident identity number (GB 11643-1999: 18 characters, the birth date YYYYMMDD in characters 7 to 14; the
 *    older 15-digit form has YYMMDD, 19YY, in characters 7 to 12);
 *  - an age column (whole years, as of the run);
 *  - a birth-date column (ISO date, `YYYY-MM-DD...`).
 * Dates are compared as integers YYYYMMDD: a customer born on B is at least `years` old on day D when
 * B <= D - years * 10000 (so one born on 29 February comes of age on 1 March in a common year). An age that cannot
 * be established (a malformed id, an empty cell, an impossible date) is `null`, and the run treats it as not shown
 * to be an adult.
 */

/** A date as YYYYMMDD, or null if it is not a real calendar date. */
export function dateKey(year: number, month: number, day: number): number | null {
  if (!Number.isInteger(year) || year < 1850 || year > 2200) return null;
  if (month < 1 || month > 12 || day < 1) return null;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > days) return null;
  return year * 10_000 + month * 100 + day;
}

/** The UTC calendar date of a time, as YYYYMMDD. */
export function dayOf(ms: number): number {
  const d = new Date(ms);
  return d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

const DIGITS_18 = /^\d{17}[\dXx]$/;
const DIGITS_15 = /^\d{15}$/;

/** The birth date (YYYYMMDD) in a resident identity number, or null if there is none. */
export function residentIdBirthDate(id: string): number | null {
  const s = id.trim();
  if (DIGITS_18.test(s))
    return dateKey(Number(s.slice(6, 10)), Number(s.slice(10, 12)), Number(s.slice(12, 14)));
  if (DIGITS_15.test(s))
    return dateKey(1900 + Number(s.slice(6, 8)), Number(s.slice(8, 10)), Number(s.slice(10, 12)));
  return null;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})/;

/** The birth date (YYYYMMDD) in an ISO date cell, or null. */
export function isoBirthDate(cell: unknown): number | null {
  if (typeof cell !== 'string') return null;
  const m = ISO_DATE.exec(cell);
  return m ? dateKey(Number(m[1]), Number(m[2]), Number(m[3])) : null;
}

/** Whether someone born on `birth` (YYYYMMDD) is at least `years` old on `day` (YYYYMMDD); null if unknown. */
export function adultByBirth(birth: number | null, day: number, years: number): boolean | null {
  if (birth === null || birth > day) return null;
  return birth <= day - years * 10_000;
}

/** Whether an age cell shows at least `years`; null if the cell is not a usable age. */
export function adultByAge(cell: unknown, years: number): boolean | null {
  if (typeof cell !== 'number' || !Number.isFinite(cell) || cell < 0 || cell > 150) return null;
  return cell >= years;
}
