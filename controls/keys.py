"""Control keys (DESIGN §9) in one place."""

import uuid

FREEZE_GLOBAL = "freeze_global"


def pause_bank_key(bank_profile_id: uuid.UUID | str) -> str:
    return f"pause_bank_{bank_profile_id}"


def freeze_bank_key(bank_profile_id: uuid.UUID | str) -> str:
    return f"freeze_bank_{bank_profile_id}"


def feature_key(name: str) -> str:
    return f"feature:{name}"


# where a bank's freeze comes from: its own key, or the global one
FREEZE_SCOPES = ("global", "bank")
