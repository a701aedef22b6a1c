// What the widgets know, with no DOM, no react-dom and no React: the words
// for approvals, plans, suggestions and action outcomes, the live summary's
// fields, §6 errors for a person. React Native imports it as
// @molam/ops-widgets-react/model.

export { actionOutcome, type Outcome } from "./actions.js";
export {
  closedText,
  outcomeText,
  pendingApprovalId,
  progress,
  signers,
  type Approval,
  type ApprovalLike,
  type Signer,
} from "./approvals.js";
export { circuitText, healthText, pauseWording, type PauseWording } from "./banks.js";
export { errorCode, errorText } from "./errors.js";
export { collect } from "./lists.js";
export {
  isPlanType,
  MOVING,
  PLAN_STATUSES,
  PLAN_TYPES,
  planTypeLabel,
  readPlan,
  stepAmount,
  stepText,
  unmet,
  type Plan,
  type PlanApproval,
  type PlanLike,
  type PlanType,
} from "./plans.js";
export { errorFromResult } from "./read.js";
export { failed, type Failed, type Part } from "./retry.js";
export { interpolate, ngettext } from "./strings.js";
export { isDangerous, suggestionAction, suggestionTarget, type SuggestionAction } from "./suggestions.js";
export { bankName, view, type BankLike, type BankRow, type SummaryView, type TreasuryRow } from "./summary.js";
