"""Every ``error.code`` the service answers (DESIGN §6), the OpenAPI enum of
the error body. A code raised or rendered anywhere must be listed here: the
suite checks every answer against the document, and
``tests/molam_ops/test_error_codes.py`` checks every literal code in the
source."""

ERROR_CODES = (
    # the kernel: parsing, identity, limits, idempotency, outages
    "bad_request",
    "malformed_json",
    "validation_error",
    "invalid_character",
    "header_too_large",
    "request_too_large",
    "unsupported_media_type",
    "not_acceptable",
    "method_not_allowed",
    "not_authenticated",
    "token_invalid",
    "forbidden",
    "address_not_allowed",
    "not_found",
    "rate_limited",
    "login_locked_out",
    "idempotency_key_required",
    "idempotency_key_invalid",
    "idempotency_key_in_use",
    "idempotency_key_reused",
    "service_unavailable",
    "action_failed",
    "internal_error",
    "not_ready",  # /readyz, outside /api, with the same body
    # audit
    "job_not_ready",
    # controls and payouts
    "already_frozen",
    "not_frozen",
    "bank_already_paused",
    "bank_not_paused",
    "bank_not_found",
    "account_not_found",
    "payout_not_found",
    "payout_not_retryable",
    "payout_disputed",
    "already_disputed",
    "no_failed_payouts",
    "currency_mismatch",
    "currency_not_supported",
    "unknown_currency",
    "insufficient_funds",
    "flag_not_found",
    "blocked_by_control",  # a rails action a freeze or pause forbids
    # approvals
    "approval_not_found",
    "approval_pending",
    "approval_required",
    "approval_closed",
    "approval_declined",
    "approval_expired",
    "approval_tampered",
    "approval_token_invalid",
    "approval_token_used",
    "already_signed",
    "initiator_cannot_sign",
    # plans and suggestions
    "plan_not_found",
    "plan_busy",
    "plan_not_cancellable",
    "plan_not_executable",
    "plan_not_executing",
    "plan_not_generating",
    "plan_not_rollbackable",
    "plan_already_rolled_back",
    "plan_not_stuck",
    "plan_not_waiting",
    "plan_step_invalid",
    "plan_step_moved",
    "suggestion_not_found",
    "suggestion_closed",
    "suggestion_invalid",
    "suggestion_action_unknown",
    # widgets
    "state_too_large",
)
