// The client every widget and hook below a provider talks through, and what
// they share: one read of /api/ops/me per provider (see me-store.ts) and the
// locale numbers and dates are formatted in.

import { createContext, useContext, useMemo, type ReactNode } from "react";
import type { OpsClient } from "@molam/ops-sdk";
import { createMeStore, type MeStore } from "./me-store.js";

interface OpsContextValue {
  client: OpsClient;
  locale: string;
  me: MeStore;
}

const OpsContext = createContext<OpsContextValue | null>(null);

export interface OpsProviderProps {
  client: OpsClient;
  /** The locale of numbers, money and dates (default "en"). Server texts
   *  (errors, approval summaries) follow the client's `lang` option. */
  locale?: string;
  children?: ReactNode;
}

export function OpsProvider({ client, locale = "en", children }: OpsProviderProps) {
  // a new client (another server, another person) is a new "me"
  const me = useMemo(() => createMeStore(client), [client]);
  const value = useMemo(() => ({ client, locale, me }), [client, locale, me]);
  return <OpsContext.Provider value={value}>{children}</OpsContext.Provider>;
}

export function useOpsContext(): OpsContextValue {
  const value = useContext(OpsContext);
  if (!value) throw new Error("Molam Ops hooks and widgets need an <OpsProvider client={…}> above them.");
  return value;
}

/** The provider's OpsClient. */
export function useOpsClient(): OpsClient {
  return useOpsContext().client;
}

/** The provider's locale for numbers, money and dates. */
export function useLocale(): string {
  return useOpsContext().locale;
}
