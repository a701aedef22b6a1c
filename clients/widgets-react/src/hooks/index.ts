// Hooks on @molam/ops-sdk with no DOM and no react-dom: React Native imports
// them as @molam/ops-widgets-react/hooks.

export { OpsProvider, useOpsClient, useLocale, type OpsProviderProps } from "./provider.js";
export { useMe, type UseMe, type Me, type MeState } from "./useMe.js";
export { useKpis, type UseKpis } from "./useKpis.js";
export { useSummary, type UseSummary } from "./useSummary.js";
export { useMeAndSummary, type UseMeAndSummary } from "./useMeAndSummary.js";
export { useFollowPlan, type FollowPlan } from "./useFollowPlan.js";
export { useResource, type ResourceState, type ResourceOptions } from "./useResource.js";
export { useAction, type UseAction, type Perform } from "./useAction.js";
export { newIdempotencyKey } from "./keys.js";
export { isOpsError, toFailure, type Failure } from "./failure.js";
