// The one source of the widgets' look, on every platform: the dashboard's
// CSS (widgets/static/widgets), the React widgets and the React Native
// widgets all take their colours, spacing, radii and type from here. The
// values live in tokens.json so that the service's test (Python) reads the
// very same file it holds the dashboard's CSS to; this module types them.

import source from "./tokens.json";

export type ColorName =
  | "background"
  | "foreground"
  | "muted"
  | "card"
  | "border"
  | "primary"
  | "danger"
  | "focus"
  | "onAccent"
  | "skeleton"
  | "skeletonHighlight"
  | "errorBackground"
  | "errorForeground"
  | "okBackground"
  | "okForeground"
  | "waitBackground"
  | "waitForeground"
  | "infoBackground"
  | "infoForeground";

export type ColorScheme = "light" | "dark";
export type Palette = Readonly<Record<ColorName, string>>;

export interface Tokens {
  readonly colors: Readonly<Record<ColorScheme, Palette>>;
  /** Spacing in px (the dashboard's rem values at a 16 px root). */
  readonly spacing: Readonly<{ xs: number; sm: number; md: number; lg: number; xl: number; xxl: number }>;
  /** Corner radii in px: cards, buttons, inputs. */
  readonly radius: Readonly<{ card: number; button: number; input: number }>;
  readonly typography: Readonly<{
    fontFamily: string;
    /** Sizes in px. */
    size: Readonly<{ caption: number; body: number; title: number; heading: number; figure: number }>;
    weight: Readonly<{ regular: "400"; semibold: "600"; bold: "700" }>;
    lineHeight: number;
  }>;
}

// The JSON's inferred type is checked against Tokens here: a colour missing
// from one scheme, or a size written as a string, fails the build. JSON has
// no literal types, so only the weights (React Native wants "400"…) are cast.
const checked: Tokens = {
  colors: source.colors,
  spacing: source.spacing,
  radius: source.radius,
  typography: {
    ...source.typography,
    weight: source.typography.weight as Tokens["typography"]["weight"],
  },
};

export const tokens: Tokens = checked;
export const colors = checked.colors;
export const spacing = checked.spacing;
export const radius = checked.radius;
export const typography = checked.typography;
