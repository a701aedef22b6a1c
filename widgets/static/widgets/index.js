// Every Molam Ops widget: <script type="module" src=".../static/widgets/index.js">
// then use the elements in any page (or load one element file alone).
export { configure } from "./api.js";
import "./elements/balance.js";
import "./elements/freeze-button.js";
import "./elements/plan-panel.js";
import "./elements/payout-summary.js";
import "./elements/bank-health.js";
import "./elements/suggestions.js";
import "./elements/quick-actions.js";
import "./elements/approvals.js";
