// The widgets' look in both schemes, from the shared design tokens: one
// StyleSheet per scheme, made once, picked by the device's useColorScheme().

import { StyleSheet, useColorScheme } from "react-native";
import { colors, radius, spacing, typography, type ColorScheme, type Palette } from "@molam/ops-widgets-react/tokens";

function makeStyles(p: Palette) {
  return StyleSheet.create({
    card: {
      backgroundColor: p.card,
      borderColor: p.border,
      borderWidth: 1,
      borderRadius: radius.card,
      paddingHorizontal: spacing.xl,
      paddingVertical: spacing.lg,
      gap: spacing.sm,
    },
    title: {
      color: p.muted,
      fontSize: typography.size.heading,
      fontWeight: typography.weight.semibold,
      textTransform: "uppercase",
      letterSpacing: 0.2,
      marginBottom: spacing.xs,
    },
    subtitle: { color: p.foreground, fontSize: typography.size.title, fontWeight: typography.weight.semibold },
    text: { color: p.foreground, fontSize: typography.size.body },
    muted: { color: p.muted, fontSize: typography.size.caption },
    figure: {
      color: p.foreground,
      fontSize: typography.size.figure,
      fontWeight: typography.weight.bold,
      fontVariant: ["tabular-nums"],
    },
    row: { flexDirection: "row", flexWrap: "wrap", alignItems: "center", gap: spacing.md },
    pair: { flexDirection: "row", justifyContent: "space-between", gap: spacing.lg },
    value: { color: p.foreground, fontSize: typography.size.body, fontVariant: ["tabular-nums"], textAlign: "right" },
    actions: { flexDirection: "row", flexWrap: "wrap", justifyContent: "flex-end", gap: spacing.md, marginTop: spacing.md },
    button: {
      borderRadius: radius.button,
      borderWidth: 1,
      borderColor: p.border,
      backgroundColor: p.card,
      paddingHorizontal: spacing.md,
      paddingVertical: spacing.sm,
      minHeight: 44,
      justifyContent: "center",
    },
    buttonPrimary: { backgroundColor: p.primary, borderColor: p.primary },
    buttonDanger: { backgroundColor: p.danger, borderColor: p.danger },
    buttonDisabled: { opacity: 0.6 },
    buttonPressed: { opacity: 0.85 },
    buttonText: { color: p.foreground, fontSize: typography.size.body },
    buttonTextAccent: { color: p.onAccent, fontWeight: typography.weight.semibold },
    input: {
      borderRadius: radius.input,
      borderWidth: 1,
      borderColor: p.border,
      backgroundColor: p.card,
      color: p.foreground,
      paddingHorizontal: spacing.md,
      paddingVertical: spacing.sm,
      fontSize: typography.size.body,
      minHeight: 44,
    },
    label: { color: p.foreground, fontSize: typography.size.caption, marginTop: spacing.md, marginBottom: spacing.xs },
    skeleton: { backgroundColor: p.skeleton, borderRadius: radius.input, height: 16, marginVertical: spacing.xs },
    skeletonTall: { height: 36, width: "60%" },
    message: { borderRadius: radius.button, paddingHorizontal: spacing.md, paddingVertical: spacing.sm, marginTop: spacing.sm },
    error: { backgroundColor: p.errorBackground, color: p.errorForeground },
    ok: { backgroundColor: p.okBackground, color: p.okForeground },
    wait: { backgroundColor: p.waitBackground, color: p.waitForeground },
    info: { backgroundColor: p.infoBackground, color: p.infoForeground },
    pill: {
      alignSelf: "flex-start",
      borderRadius: 999,
      paddingHorizontal: spacing.sm,
      paddingVertical: 2,
      fontSize: 13,
      fontWeight: typography.weight.semibold,
      overflow: "hidden",
    },
    neutral: { backgroundColor: p.skeleton, color: p.foreground },
    live: { color: p.muted, fontSize: 12 },
    backdrop: { flex: 1, backgroundColor: "rgba(15, 23, 42, 0.55)", justifyContent: "center", padding: spacing.lg },
    dialog: {
      backgroundColor: p.card,
      borderColor: p.border,
      borderWidth: 1,
      borderRadius: radius.card,
      padding: spacing.xl,
      gap: spacing.sm,
      maxHeight: "90%",
    },
    item: { paddingVertical: spacing.md, borderBottomWidth: 1, borderBottomColor: p.border, gap: spacing.xs },
    tile: {
      borderRadius: radius.button,
      borderWidth: 1,
      borderColor: p.border,
      borderLeftWidth: 5,
      padding: spacing.md,
      gap: spacing.xs,
      backgroundColor: p.card,
    },
    choice: {
      borderRadius: radius.button,
      borderWidth: 1,
      borderColor: p.border,
      paddingHorizontal: spacing.md,
      paddingVertical: spacing.sm,
      minHeight: 44,
      justifyContent: "center",
    },
    choiceSelected: { borderColor: p.focus, backgroundColor: p.infoBackground },
  });
}

export type Styles = ReturnType<typeof makeStyles>;

const sheets: Record<ColorScheme, Styles> = { light: makeStyles(colors.light), dark: makeStyles(colors.dark) };

/** Health colours of the bank tiles, the same in both schemes (as on the dashboard). */
export const healthColor: Record<string, string> = { green: "#16a34a", yellow: "#ca8a04", red: "#dc2626" };

export interface Theme {
  scheme: ColorScheme;
  palette: Palette;
  styles: Styles;
}

/** The palette and styles of the device's colour scheme (light unless it says dark). */
export function useTheme(): Theme {
  const scheme: ColorScheme = useColorScheme() === "dark" ? "dark" : "light";
  return { scheme, palette: colors[scheme], styles: sheets[scheme] };
}
