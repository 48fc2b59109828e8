"""The Official Account's configuration (公众号配置): keyword replies, welcome and default replies,
the custom menu and its click replies. The callback's behaviours read it (backend/wechat/behaviours.py)."""

from backend.auth.permissions import Role
from backend.official_account.permissions import OfficialAccountPermission
from backend.registry import Module, collection, index

MODULE = Module(
    name="official_account", label="公众号",
    collections=(
        # Template messages go to followers found by unionid.
        collection("wechat_followers", index("unionid", sparse=True)),
        collection("wechat_locations", index("openid")),
        collection("wechat_receipts", index("openid", ("event_time", -1))),
        collection("oa_config", index("kind", "key")),
    ),
    grants={Role.ADMIN: frozenset({OfficialAccountPermission.STAFF_WECHAT_MANAGE})},
)
