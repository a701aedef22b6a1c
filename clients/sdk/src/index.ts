export { createOpsClient, type OpsClient } from "./client.js";
export { isOpsError, OpsError, type HttpStatusCode } from "./errors.js";
export type {
  ActionBody,
  ActionName,
  ActionPath,
  ActionResponse,
  ActionResult,
  CallOptions,
  components,
  ErrorCode,
  KpiState,
  KpiSummary,
  ListItem,
  ListPath,
  ListQuery,
  OpsClientOptions,
  paths,
  RetryOptions,
  Schemas,
  TokenProvider,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";
