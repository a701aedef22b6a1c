// Strings and formats in the operator's language. The catalogue is Django's
// (djangojs domain, locale/<lang>/LC_MESSAGES/djangojs.po), served as JSON by
// /widgets/i18n/<lang>.json; numbers, money and dates use Intl for the locale
// (XOF and XAF have no minor unit, so Intl shows no decimals for them).

import { baseUrl, me } from "./api.js";

let catalog = {};
let current = "en";
let readyPromise = null;

function pickLang(preferred) {
  const lang = (preferred || document.documentElement.lang || navigator.language || "en")
    .slice(0, 2)
    .toLowerCase();
  return ["en", "fr"].includes(lang) ? lang : "en";
}

export function ready() {
  if (!readyPromise) {
    readyPromise = (async () => {
      let lang;
      try {
        lang = (await me()).lang;
      } catch (err) {
        lang = null; // not signed in: the page's language
      }
      current = pickLang(lang);
      try {
        const response = await fetch(`${baseUrl()}/widgets/i18n/${current}.json`);
        catalog = (await response.json()).catalog || {};
      } catch (err) {
        catalog = {}; // English source strings, rather than nothing
      }
    })();
  }
  return readyPromise;
}

export function lang() {
  return current;
}

export function gettext(msgid) {
  const value = catalog[msgid];
  if (typeof value === "string" && value) return value;
  if (Array.isArray(value) && value[0]) return value[0];
  return msgid;
}

// A string with a context, as Django's pgettext ("approval status").
export function pgettext(context, msgid) {
  const value = catalog[`${context}\x04${msgid}`];
  return typeof value === "string" && value ? value : msgid;
}

export function ngettext(singular, plural, count) {
  const value = catalog[singular];
  if (Array.isArray(value)) {
    const index = current === "fr" ? (count > 1 ? 1 : 0) : count === 1 ? 0 : 1;
    if (value[index]) return value[index];
  }
  return count === 1 ? singular : plural;
}

// "%(name)s" placeholders, as in Django's catalogues.
export function interpolate(text, params) {
  return text.replace(/%\((\w+)\)s/g, (_m, key) => String(params[key] ?? ""));
}

export function isCurrency(code) {
  if (!/^[A-Z]{3}$/.test(code || "")) return false;
  try {
    if (Intl.supportedValuesOf) return Intl.supportedValuesOf("currency").includes(code);
    new Intl.NumberFormat("en", { style: "currency", currency: code });
    return true;
  } catch (err) {
    return false;
  }
}

export function money(amount, currency) {
  return new Intl.NumberFormat(current, { style: "currency", currency }).format(Number(amount));
}

// Currencies whose symbol another shares in some locale (both CFA francs
// read "F CFA" in French): beside other currencies they show their ISO code.
const AMBIGUOUS = new Set(["XOF", "XAF"]);

// Money in a table of several currencies: "XOF 1 234" rather than a symbol
// two currencies share.
export function moneyCode(amount, currency) {
  return new Intl.NumberFormat(current, {
    style: "currency",
    currency,
    currencyDisplay: AMBIGUOUS.has(currency) ? "code" : "symbol",
  }).format(Number(amount));
}

export function number(value) {
  return new Intl.NumberFormat(current).format(Number(value));
}

export function percent(value) {
  return new Intl.NumberFormat(current, { style: "percent", maximumFractionDigits: 1 }).format(
    Number(value),
  );
}

export function dateTime(iso) {
  if (!iso) return gettext("never");
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "medium" }).format(
    new Date(iso),
  );
}

export function time(iso) {
  return new Intl.DateTimeFormat(current, { timeStyle: "medium" }).format(new Date(iso));
}

// A bank's display name in the current language (modeltranslation fields).
export function bankName(bank) {
  return (bank.names && bank.names[current]) || bank.name;
}
