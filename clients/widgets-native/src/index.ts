// @molam/ops-widgets-native: the Molam Ops widgets for React Native, on
// @molam/ops-sdk and the hooks shared with the React widgets.

export { OpsProvider, useOpsClient, useMe, useKpis, type OpsProviderProps } from "@molam/ops-widgets-react/hooks";
export { BalanceWidget, type BalanceWidgetProps } from "./widgets/BalanceWidget";
export { FreezeButton, type FreezeButtonProps, type FreezeScope } from "./widgets/FreezeButton";
export { GeneratePlanPanel, type GeneratePlanPanelProps, type PlanType } from "./widgets/GeneratePlanPanel";
export { PayoutSummary, type PayoutSummaryProps } from "./widgets/PayoutSummary";
export { BankHealth, type BankHealthProps } from "./widgets/BankHealth";
export { SiraSuggestions, type SiraSuggestionsProps } from "./widgets/SiraSuggestions";
export { QuickActions, type QuickActionsProps } from "./widgets/QuickActions";
export { Approvals, type ApprovalsProps } from "./widgets/Approvals";
export type { PlanLike } from "@molam/ops-widgets-react/model";
export { useTheme, type Theme } from "./theme";
