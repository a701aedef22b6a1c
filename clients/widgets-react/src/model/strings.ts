// The widgets' wording, the dashboard's English source strings, with Django's
// "%(name)s" placeholders so that the texts stay the same on every platform.

export function interpolate(text: string, params: Record<string, string | number>): string {
  return text.replace(/%\((\w+)\)s/g, (_m, key: string) => String(params[key] ?? ""));
}

/** English plural rule, as the dashboard's ngettext without a catalogue. */
export function ngettext(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}
