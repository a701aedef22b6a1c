// Money, numbers, percentages and dates for people, with Intl and no DOM
// (React Native imports this too). Money stays the decimal string the API
// sends: Intl.NumberFormat formats the string itself (exactly, where the
// engine implements NumberFormat v3), and nothing here does arithmetic on it.

export interface FormatOptions {
  /** A BCP 47 tag ("en", "fr-SN"); default "en". */
  locale?: string;
}

/** How the currency shows: "auto" is the symbol, except for currencies
 *  whose symbol another one shares, which show their ISO code. */
export type CurrencyDisplay = "auto" | "symbol" | "code";

// Both CFA francs read "F CFA"/"FCFA" depending on the locale: beside each
// other (or any other currency) only their ISO codes tell them apart.
const AMBIGUOUS = new Set(["XOF", "XAF"]);

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** An ISO 4217 code this engine knows ("XOF", "USD"). */
export function isCurrency(code: string): boolean {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  try {
    new Intl.NumberFormat("en", { style: "currency", currency: code });
    return true;
  } catch {
    return false;
  }
}

/** "1234.50" + "USD" → "$1,234.50"; "1234" + "XOF" → "XOF 1,234". An
 *  amount that is not a decimal string, or an unknown currency, reads as
 *  given ("abc XYZ") rather than as a wrong number. */
export function formatMoney(
  amount: string,
  currency: string,
  options: FormatOptions & { currencyDisplay?: CurrencyDisplay } = {},
): string {
  const text = String(amount).trim();
  if (!DECIMAL.test(text) || !isCurrency(currency)) return `${text} ${currency}`.trim();
  const display = options.currencyDisplay ?? "auto";
  const currencyDisplay =
    display === "auto" ? (AMBIGUOUS.has(currency) ? "code" : "symbol") : display;
  return new Intl.NumberFormat(options.locale ?? "en", {
    style: "currency",
    currency,
    currencyDisplay,
  }).format(text as Intl.StringNumericLiteral);
}

/** A count or a decimal string, grouped for the locale. */
export function formatNumber(value: number | string, options: FormatOptions = {}): string {
  const text = String(value).trim();
  if (typeof value === "string" && !DECIMAL.test(text)) return text;
  return new Intl.NumberFormat(options.locale ?? "en").format(text as Intl.StringNumericLiteral);
}

/** A fraction as a percentage: 0.985 → "98.5%". */
export function formatPercent(
  fraction: number | string | null | undefined,
  options: FormatOptions & { maximumFractionDigits?: number } = {},
): string {
  if (fraction === null || fraction === undefined || fraction === "") return "–";
  const text = String(fraction).trim();
  if (!DECIMAL.test(text)) return text;
  return new Intl.NumberFormat(options.locale ?? "en", {
    style: "percent",
    maximumFractionDigits: options.maximumFractionDigits ?? 1,
  }).format(text as Intl.StringNumericLiteral);
}

function parseDate(iso: string): Date | null {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** An ISO 8601 time as a medium date and time; `never` when there is none. */
export function formatDateTime(
  iso: string | null | undefined,
  options: FormatOptions & { never?: string } = {},
): string {
  const date = iso ? parseDate(iso) : null;
  if (!date) return iso ? iso : (options.never ?? "never");
  return new Intl.DateTimeFormat(options.locale ?? "en", {
    dateStyle: "medium",
    timeStyle: "medium",
  }).format(date);
}

/** An ISO 8601 time as a medium time of day. */
export function formatTime(iso: string, options: FormatOptions = {}): string {
  const date = parseDate(iso);
  if (!date) return iso;
  return new Intl.DateTimeFormat(options.locale ?? "en", { timeStyle: "medium" }).format(date);
}

/** "3 h 05 min left", "4 min 09 s left", or "expired", as the dashboard counts down. */
export function formatTimeLeft(iso: string, now: number = Date.now()): string {
  const end = Date.parse(iso);
  const seconds = Number.isNaN(end) ? 0 : Math.max(0, Math.floor((end - now) / 1000));
  if (!seconds) return "expired";
  const h = Math.floor(seconds / 3600);
  const m = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
  const s = String(seconds % 60).padStart(2, "0");
  return h ? `${h} h ${m} min left` : `${m} min ${s} s left`;
}
