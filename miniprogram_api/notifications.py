"""Citizen side of notifications: the inbox, channel preferences, and subscribe-message consent
(what ``wx.requestSubscribeMessage`` answered, which is the quota push spends)."""

from __future__ import annotations

from typing import Any

from backend.auth.permissions import Permission
from backend.http.endpoint import endpoint
from backend.http.routes import ID, Route
from backend.notifications import queries, use_cases
from backend.notifications.schemas import (
    NotificationListOut,
    NotificationOut,
    NotificationQuery,
    PreferencesIn,
    PreferencesOut,
    ReadAllOut,
    SubscriptionResultsIn,
    SubscriptionsOut,
)
from miniprogram_api.base import CitizenHandler
from push.rules import mandatory_events, subscribe_template_titles

TAGS = ("notifications",)
ANYONE = Permission.AUTHENTICATED


class NotificationsHandler(CitizenHandler):
    @endpoint(permission=ANYONE, summary="我的消息（新的在前）", query=NotificationQuery, response=NotificationListOut,
              tags=TAGS)
    async def get(self) -> dict[str, Any]:
        q = self.query
        return await queries.list_notifications(self.ctx.store, self.principal, unread=q.unread, limit=q.limit,
                                                cursor=q.cursor)


class NotificationReadHandler(CitizenHandler):
    @endpoint(permission=ANYONE, summary="标记消息已读", response=NotificationOut, errors=(404,), tags=TAGS)
    async def post(self, notification_id: str) -> dict[str, Any]:
        return await use_cases.do_mark_read(self.ctx, notification_id, acting_user=self.principal)


class NotificationsReadAllHandler(CitizenHandler):
    @endpoint(permission=ANYONE, summary="全部标记已读", response=ReadAllOut, tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_mark_all_read(self.ctx, acting_user=self.principal)


class PreferencesHandler(CitizenHandler):
    @endpoint(permission=ANYONE, summary="消息渠道设置（订阅消息、公众号消息可关闭，必达通知除外）",
              response=PreferencesOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        prefs = await queries.get_preferences(self.ctx.store, self.principal)
        return {**prefs, "mandatory": mandatory_events("mp")}

    @endpoint(permission=ANYONE, summary="修改消息渠道设置", body=PreferencesIn, response=PreferencesOut,
              errors=(409,), tags=TAGS)
    async def put(self) -> dict[str, Any]:
        prefs = await use_cases.do_set_preferences(self.ctx, self.body, acting_user=self.principal,
                                                   expected_version=self.if_match_version())
        return {**prefs, "mandatory": mandatory_events("mp")}


class SubscriptionsHandler(CitizenHandler):
    @endpoint(permission=ANYONE, summary="订阅消息模板及剩余可发次数", response=SubscriptionsOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await queries.list_subscriptions(self.ctx.store, self.principal, subscribe_template_titles(),
                                                self.ctx.settings.long_term_templates)

    @endpoint(permission=ANYONE, summary="上报订阅消息授权结果（wx.requestSubscribeMessage）",
              body=SubscriptionResultsIn, response=SubscriptionsOut, idempotent=True, errors=(400,), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_record_subscription_results(self.ctx, self.body, acting_user=self.principal,
                                                              templates=subscribe_template_titles())


ROUTES = [
    Route(r"/mp/v1/notifications", NotificationsHandler),
    Route(r"/mp/v1/notifications/read-all", NotificationsReadAllHandler),
    Route(rf"/mp/v1/notifications/{ID.format('notification_id')}/read", NotificationReadHandler),
    Route(r"/mp/v1/notification-preferences", PreferencesHandler),
    Route(r"/mp/v1/subscriptions", SubscriptionsHandler),
]
