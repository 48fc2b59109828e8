"""Notifications (消息中心): the in-app inbox, per-channel preferences, and subscribe-message consent.

The inbox is the durable record of every notification push delivers; WeChat, WeCom and the
WebSocket are best-effort copies of it. ``push/`` decides who is told and writes here only through
``use_cases.py``; the two faces read through ``queries.py``.
"""

from backend.auth.permissions import Role
from backend.notifications.permissions import NotificationPermission
from backend.notifications.queries import NOTIFICATIONS, PREFERENCES, QUOTAS
from backend.registry import Module, collection, index

# One index on the inbox, deliberately: push rewrites every entry's channel states, and on SQLite
# each expression index is recomputed on every rewrite. A user's entries are few enough that the
# unread filter and receipt matching scan them through this one; WeChat msgids are matched through
# Redis (``push/receipts.py``).
MODULE = Module(
    name="notifications", label="消息中心",
    collections=(collection(NOTIFICATIONS, index("user_id", ("created_at", -1))),
                 collection(QUOTAS, index("user_id", "template_id")), collection(PREFERENCES)),
    grants={Role.ADMIN: frozenset({NotificationPermission.STAFF_PUSH_MANAGE})},
)
