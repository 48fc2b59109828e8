"""What a staff password may not be: one of the most common passwords (the bundled list), or anything
that contains the username. Length and size limits are the schema's (``Password`` in
``backend/identity/schemas.py``); this is the part a schema cannot know.

Checked on every password a staff account is given: create (API and ``yzt create-user``) and PATCH.
The demo accounts alone skip it, through ``do_create_staff_user(..., skip_password_policy_for_demo=True)``,
because their published passwords are ``<username>@Demo2026`` by design.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from backend.errors import ValidationFailed


class WeakPassword(ValidationFailed):
    code = "weak_password"
    message = "密码过于常见或包含用户名，请换一个不易被猜到的密码"


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list, lower case (read once, on first use: ~200 lines)."""
    text = files("backend.auth").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_password(password: str, *, username: str) -> None:
    """Raise ``WeakPassword`` for a common password or one that contains the username (any case)."""
    lowered = password.strip().lower()
    if lowered in common_passwords():
        reason = "这是最常见的密码之一"
    elif username and username.lower() in lowered:
        reason = "密码不能包含用户名"
    else:
        return
    raise WeakPassword(details={"fields": [{"field": "password", "message": reason}]})
