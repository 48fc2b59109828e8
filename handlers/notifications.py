"""Staff side of notifications: the inbox, channel preferences, and push administration."""

from __future__ import annotations

from typing import Any

from backend.auth.permissions import Permission
from backend.http.endpoint import endpoint
from backend.http.routes import ID, Route
from backend.notifications import queries, use_cases
from backend.notifications.permissions import NotificationPermission
from backend.notifications.schemas import (
    NotificationListOut,
    NotificationOut,
    NotificationQuery,
    PreferencesIn,
    PreferencesOut,
    PushStatisticsOut,
    ReadAllOut,
    RedriveIn,
    RedriveOut,
)
from handlers.base import StaffHandler
from handlers.websocket import LiveSocketHandler
from push import admin
from push.rules import mandatory_events

TAGS = ("notifications",)
ANYONE = Permission.AUTHENTICATED


class NotificationsHandler(StaffHandler):
    @endpoint(permission=ANYONE, summary="我的通知（站内信，新的在前）", query=NotificationQuery,
              response=NotificationListOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        q = self.query
        return await queries.list_notifications(self.ctx.store, self.principal, unread=q.unread, limit=q.limit,
                                                cursor=q.cursor)


class NotificationReadHandler(StaffHandler):
    @endpoint(permission=ANYONE, summary="标记通知已读", response=NotificationOut, errors=(404,), tags=TAGS)
    async def post(self, notification_id: str) -> dict[str, Any]:
        return await use_cases.do_mark_read(self.ctx, notification_id, acting_user=self.principal)


class NotificationsReadAllHandler(StaffHandler):
    @endpoint(permission=ANYONE, summary="全部标记已读", response=ReadAllOut, tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_mark_all_read(self.ctx, acting_user=self.principal)


class PreferencesHandler(StaffHandler):
    @endpoint(permission=ANYONE, summary="通知渠道设置（企业微信消息可关闭，必达通知除外）", response=PreferencesOut,
              tags=TAGS)
    async def get(self) -> dict[str, Any]:
        prefs = await queries.get_preferences(self.ctx.store, self.principal)
        return {**prefs, "mandatory": mandatory_events("staff")}

    @endpoint(permission=ANYONE, summary="修改通知渠道设置", body=PreferencesIn, response=PreferencesOut,
              errors=(409,), tags=TAGS)
    async def put(self) -> dict[str, Any]:
        prefs = await use_cases.do_set_preferences(self.ctx, self.body, acting_user=self.principal,
                                                   expected_version=self.if_match_version())
        return {**prefs, "mandatory": mandatory_events("staff")}


class PushStatisticsHandler(StaffHandler):
    @endpoint(permission=NotificationPermission.STAFF_PUSH_MANAGE, summary="推送统计（各渠道排队、已发、失败、死信）",
              response=PushStatisticsOut, tags=("push",))
    async def get(self) -> dict[str, Any]:
        return await admin.statistics(self.ctx)


class DeadLettersRedriveHandler(StaffHandler):
    @endpoint(permission=NotificationPermission.STAFF_PUSH_MANAGE, summary="重新投递死信", body=RedriveIn, response=RedriveOut,
              tags=("push",))
    async def post(self) -> dict[str, Any]:
        channel = self.body.channel.value if self.body.channel else None
        return await admin.redrive_dead_letters(self.ctx, channel=channel, limit=self.body.limit)


ROUTES = [
    Route(r"/api/v1/notifications", NotificationsHandler),
    Route(r"/api/v1/notifications/read-all", NotificationsReadAllHandler),
    Route(rf"/api/v1/notifications/{ID.format('notification_id')}/read", NotificationReadHandler),
    Route(r"/api/v1/notification-preferences", PreferencesHandler),
    Route(r"/api/v1/push/statistics", PushStatisticsHandler),
    Route(r"/api/v1/push/dead-letters/redrive", DeadLettersRedriveHandler),
    Route(r"/ws", LiveSocketHandler),  # type: ignore[arg-type]  # a WebSocketHandler, not a JsonHandler
]
