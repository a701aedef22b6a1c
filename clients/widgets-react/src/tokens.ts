// The one source of the widgets' look, on every platform: the dashboard's
// CSS (widgets/static/widgets), the React widgets and the React Native
// widgets all take their colours, spacing, radii and type from here; a test
// of the service holds the dashboard's CSS to these values.

export const colors = {
  light: {
    background: "#f3f4f6",
    foreground: "#1f2937",
    muted: "#4b5563",
    card: "#ffffff",
    border: "#d1d5db",
    primary: "#1d4ed8",
    danger: "#b91c1c",
    focus: "#2563eb",
    onAccent: "#ffffff",
    skeleton: "#e5e7eb",
    skeletonHighlight: "#f3f4f6",
    errorBackground: "#fee2e2",
    errorForeground: "#7f1d1d",
    okBackground: "#dcfce7",
    okForeground: "#14532d",
    waitBackground: "#fef9c3",
    waitForeground: "#713f12",
    infoBackground: "#e0e7ff",
    infoForeground: "#1e3a8a",
  },
  dark: {
    background: "#030712",
    foreground: "#e5e7eb",
    muted: "#9ca3af",
    card: "#111827",
    border: "#374151",
    primary: "#1d4ed8",
    danger: "#b91c1c",
    focus: "#60a5fa",
    onAccent: "#ffffff",
    skeleton: "#1f2937",
    skeletonHighlight: "#374151",
    errorBackground: "#450a0a",
    errorForeground: "#fecaca",
    okBackground: "#052e16",
    okForeground: "#bbf7d0",
    waitBackground: "#422006",
    waitForeground: "#fef08a",
    infoBackground: "#1e1b4b",
    infoForeground: "#c7d2fe",
  },
} as const;

export type ColorScheme = keyof typeof colors;
export type Palette = { [K in keyof (typeof colors)["light"]]: string };

/** Spacing in px (the dashboard's rem values at a 16 px root). */
export const spacing = { xs: 4, sm: 8, md: 12, lg: 20, xl: 24, xxl: 32 } as const;

/** Corner radii in px: cards, buttons, inputs. */
export const radius = { card: 14, button: 10, input: 8 } as const;

export const typography = {
  fontFamily:
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  /** Sizes in px. */
  size: { caption: 14, body: 16, title: 17, heading: 15, figure: 28 },
  weight: { regular: "400", semibold: "600", bold: "700" },
  lineHeight: 1.5,
} as const;

export const tokens = { colors, spacing, radius, typography } as const;
export type Tokens = typeof tokens;
