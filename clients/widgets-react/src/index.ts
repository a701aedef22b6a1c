// @molam/ops-widgets-react: the Molam Ops widgets as React components on
// @molam/ops-sdk, with the hooks, formats and design tokens they are made of.

export * from "./hooks/index.js";
export * from "./format.js";
export * from "./tokens.js";
export { STYLESHEET, Styles, cssVar } from "./ui/styles.js";
export { errorText } from "./model/errors.js";
export { BalanceWidget, type BalanceWidgetProps } from "./components/BalanceWidget.js";
export { PayoutSummary, type PayoutSummaryProps } from "./components/PayoutSummary.js";
export { FreezeButton, type FreezeButtonProps, type FreezeScope } from "./components/FreezeButton.js";
export { BankHealth, type BankHealthProps } from "./components/BankHealth.js";
export { GeneratePlanPanel, type GeneratePlanPanelProps } from "./components/GeneratePlanPanel.js";
export { SiraSuggestions, type SiraSuggestionsProps } from "./components/SiraSuggestions.js";
export { QuickActions, type QuickActionsProps } from "./components/QuickActions.js";
export { Approvals, type ApprovalsProps } from "./components/Approvals.js";
export type { Plan, PlanType } from "./model/plans.js";
export type { Approval } from "./model/approvals.js";
