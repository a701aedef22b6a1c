// Banks as the summary lists them, named in the person's language.

export interface BankLike {
  id: string;
  name: string;
  names?: Record<string, string> | null;
}

export function bankName(bank: BankLike, locale: string): string {
  return bank.names?.[locale.slice(0, 2)] || bank.name;
}
