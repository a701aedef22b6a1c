// The widgets' one stylesheet, built from the design tokens: every colour is
// a CSS variable (--molam-*), light by default and dark under
// prefers-color-scheme, so a host page can also set them itself (theming).
// React 19 hoists <style href precedence> into <head> once, however many
// widgets render it.

import { colors, radius, spacing, typography, type ColorName, type Palette } from "../tokens.js";

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The CSS variable of a token colour: var(--molam-error-background). */
export const cssVar = (name: ColorName) => `var(--molam-${kebab(name)})`;

function declarations(palette: Palette): string {
  return Object.entries(palette)
    .map(([name, value]) => `--molam-${kebab(name)}: ${value};`)
    .join(" ");
}

const px = (n: number) => `${n}px`;
const v = cssVar;

export const STYLESHEET = `
.molam { ${declarations(colors.light)} }
@media (prefers-color-scheme: dark) { .molam { ${declarations(colors.dark)} } }
.molam { font-family: ${typography.fontFamily}; font-size: ${px(typography.size.body)};
  line-height: ${typography.lineHeight}; color: ${v("foreground")}; box-sizing: border-box; }
.molam *, .molam *::before, .molam *::after { box-sizing: inherit; }
.molam-card { background: ${v("card")}; border: 1px solid ${v("border")}; border-radius: ${px(radius.card)};
  padding: ${px(spacing.lg)} ${px(spacing.xl)}; height: 100%; }
.molam h2.molam-title { font-size: ${px(typography.size.heading)}; font-weight: ${typography.weight.semibold};
  margin: 0 0 ${px(spacing.md)}; letter-spacing: 0.01em; color: ${v("muted")}; text-transform: uppercase; }
.molam h3 { font-size: ${px(typography.size.title)}; margin: ${px(spacing.md)} 0 ${px(spacing.sm)}; }
.molam-figure { font-size: ${px(typography.size.figure)}; font-weight: ${typography.weight.semibold};
  margin: ${px(spacing.xs)} 0 ${px(spacing.sm)}; font-variant-numeric: tabular-nums; }
.molam-muted { color: ${v("muted")}; font-size: ${px(typography.size.caption)}; }
.molam-row { display: flex; gap: ${px(spacing.md)}; align-items: center; flex-wrap: wrap; }
.molam dl { display: grid; grid-template-columns: auto 1fr; gap: ${px(spacing.xs)} ${px(spacing.lg)}; margin: ${px(spacing.sm)} 0 0; }
.molam dt { color: ${v("muted")}; font-size: ${px(typography.size.caption)}; }
.molam dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.molam dl.molam-stats { grid-template-columns: repeat(auto-fit, minmax(7rem, 1fr)); gap: ${px(spacing.lg)}; }
.molam dl.molam-stats dd { text-align: left; font-size: ${px(typography.size.figure)}; font-weight: ${typography.weight.semibold}; }
.molam-button { font: inherit; border-radius: ${px(radius.button)}; border: 1px solid ${v("border")};
  background: ${v("card")}; color: ${v("foreground")}; padding: ${px(spacing.sm)} ${px(spacing.md)}; cursor: pointer; }
.molam-button.molam-primary { background: ${v("primary")}; border-color: ${v("primary")}; color: ${v("onAccent")}; }
.molam-button.molam-danger { background: ${v("danger")}; border-color: ${v("danger")}; color: ${v("onAccent")}; }
.molam-button:disabled { opacity: 0.6; cursor: not-allowed; }
.molam :focus-visible { outline: 3px solid ${v("focus")}; outline-offset: 2px; }
.molam label { display: block; font-size: ${px(typography.size.caption)}; margin: ${px(spacing.md)} 0 ${px(spacing.xs)}; }
.molam input, .molam select, .molam textarea { font: inherit; width: 100%; padding: ${px(spacing.sm)};
  border-radius: ${px(radius.input)}; border: 1px solid ${v("border")}; background: ${v("card")}; color: ${v("foreground")}; }
.molam-dialog { border: 1px solid ${v("border")}; border-radius: ${px(radius.card)}; padding: ${px(spacing.xl)};
  max-width: 32rem; width: calc(100% - 2rem); background: ${v("card")}; color: ${v("foreground")}; }
.molam-dialog::backdrop { background: rgb(15 23 42 / 0.55); }
.molam-actions { display: flex; gap: ${px(spacing.md)}; justify-content: flex-end; margin-top: ${px(spacing.lg)}; }
.molam-skeleton { border-radius: ${px(radius.input)}; height: 1rem; margin: ${px(spacing.sm)} 0;
  background: linear-gradient(90deg, ${v("skeleton")} 25%, ${v("skeletonHighlight")} 50%, ${v("skeleton")} 75%);
  background-size: 200% 100%; animation: molam-shimmer 1.4s infinite; }
.molam-skeleton.molam-tall { height: 2.2rem; width: 60%; }
@keyframes molam-shimmer { from { background-position: 200% 0; } to { background-position: -200% 0; } }
@media (prefers-reduced-motion: reduce) { .molam-skeleton { animation: none; } }
.molam-message { margin-top: ${px(spacing.md)}; padding: ${px(spacing.sm)} ${px(spacing.md)}; border-radius: ${px(radius.button)}; font-size: ${px(typography.size.caption)}; }
.molam-message.molam-error, .molam-pill.molam-red { background: ${v("errorBackground")}; color: ${v("errorForeground")}; }
.molam-message.molam-ok, .molam-pill.molam-green { background: ${v("okBackground")}; color: ${v("okForeground")}; }
.molam-message.molam-wait, .molam-pill.molam-yellow { background: ${v("waitBackground")}; color: ${v("waitForeground")}; }
.molam-message.molam-info { background: ${v("infoBackground")}; color: ${v("infoForeground")}; }
.molam-pill { display: inline-block; border-radius: 999px; padding: 0.1rem 0.55rem; font-size: 0.8rem; font-weight: ${typography.weight.semibold}; }
.molam-pill.molam-neutral { background: ${v("skeleton")}; color: ${v("foreground")}; }
.molam-live { font-size: 0.75rem; color: ${v("muted")}; }
.molam-visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.molam ul.molam-plain { list-style: none; padding: 0; margin: 0; }
.molam table { width: 100%; border-collapse: collapse; font-size: ${px(typography.size.caption)}; }
.molam th, .molam td { text-align: left; padding: ${px(spacing.xs)} ${px(spacing.sm)}; border-bottom: 1px solid ${v("border")}; }
.molam td.molam-num, .molam th.molam-num { text-align: right; font-variant-numeric: tabular-nums; }
.molam-tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: ${px(spacing.md)}; list-style: none; padding: 0; margin: 0; }
.molam-tile { width: 100%; height: 100%; text-align: left; display: flex; flex-direction: column; gap: ${px(spacing.xs)}; }
.molam-tile .molam-pill { align-self: flex-start; }
.molam-tile.molam-red { border-left: 5px solid ${v("danger")}; }
.molam-tile.molam-yellow { border-left: 5px solid ${v("waitForeground")}; }
.molam-tile.molam-green { border-left: 5px solid ${v("okForeground")}; }
.molam-item { padding: ${px(spacing.md)} 0; border-bottom: 1px solid ${v("border")}; }
.molam-item:last-child { border-bottom: 0; }
.molam-item p { margin: 0 0 ${px(spacing.xs)}; }
`;

/** The stylesheet, once per document whatever the number of widgets. */
export function Styles() {
  return (
    <style href="molam-ops-widgets" precedence="default">
      {STYLESHEET}
    </style>
  );
}
