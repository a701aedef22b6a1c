import { describe, expect, it } from "vitest";
import { formatDateTime, formatMoney, formatPercent, formatTimeLeft, isCurrency } from "../src/format.js";

describe("formatMoney", () => {
  it("formats the decimal string itself: no float rounding of large amounts", () => {
    expect(formatMoney("12345678901234567.89", "USD")).toBe("$12,345,678,901,234,567.89");
    expect(formatMoney("0.10", "EUR", { locale: "fr" })).toBe("0,10\u00a0€");
  });

  it("tells the two CFA francs apart by their ISO codes", () => {
    const xof = formatMoney("1234", "XOF", { locale: "fr" });
    const xaf = formatMoney("1234", "XAF", { locale: "fr" });
    expect(xof).toContain("XOF");
    expect(xaf).toContain("XAF");
    expect(xof.replace(/\D/g, "")).toBe("1234");
    expect(formatMoney("1234", "XOF", { currencyDisplay: "symbol" })).not.toContain("XOF");
  });

  it("shows what it cannot format as given, never as a wrong number", () => {
    expect(formatMoney("12abc", "USD")).toBe("12abc USD");
    expect(formatMoney("10", "ZZZ1")).toBe("10 ZZZ1");
    expect(isCurrency("usd")).toBe(false);
  });
});

describe("the other formats", () => {
  it("percentages, dates and time left", () => {
    expect(formatPercent("0.985")).toBe("98.5%");
    expect(formatPercent(null)).toBe("–");
    expect(formatDateTime(null)).toBe("never");
    expect(formatDateTime("2026-01-02T03:04:05Z", { locale: "en" })).toMatch(/2026/);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(formatTimeLeft("2026-01-01T03:05:00Z", now)).toBe("3 h 05 min left");
    expect(formatTimeLeft("2026-01-01T00:04:09Z", now)).toBe("04 min 09 s left");
    expect(formatTimeLeft("2025-12-31T00:00:00Z", now)).toBe("expired");
  });
});
