"""The staff-facing API (``/api/v1``) and the WeChat callbacks (``/wechat``)."""

from __future__ import annotations

from backend.http.routes import CODE, ID, Route, face_routes
from backend.modules import MODULES
from handlers import files, identity, notifications, websocket, wechat

ROUTES: list[Route] = [
    Route(r"/api/v1/auth/login", identity.LoginHandler),
    Route(r"/api/v1/auth/refresh", identity.RefreshHandler),
    Route(r"/api/v1/auth/logout", identity.LogoutHandler),
    Route(r"/api/v1/me", identity.MeHandler),
    Route(r"/api/v1/departments", identity.DepartmentsHandler),
    Route(rf"/api/v1/departments/{CODE.format('code')}", identity.DepartmentHandler),
    Route(r"/api/v1/staff-users", identity.StaffUsersHandler),
    Route(rf"/api/v1/staff-users/{ID.format('user_id')}", identity.StaffUserHandler),
    Route(r"/api/v1/files", files.UploadHandler),
    Route(r"/api/v1/wechat/config", wechat.ConfigHandler),
    Route(r"/api/v1/wechat/keyword-replies", wechat.KeywordRepliesHandler),
    Route(rf"/api/v1/wechat/keyword-replies/{ID.format('reply_id')}", wechat.KeywordReplyHandler),
    Route(r"/api/v1/wechat/replies/(?P<kind>welcome|default)", wechat.FixedReplyHandler),
    Route(r"/api/v1/wechat/menu", wechat.MenuHandler),
    Route(r"/api/v1/wechat/menu/publish", wechat.MenuPublishHandler),
    Route(r"/wechat/callback", wechat.OfficialAccountCallbackHandler),
    Route(r"/api/v1/notifications", notifications.NotificationsHandler),
    Route(r"/api/v1/notifications/read-all", notifications.NotificationsReadAllHandler),
    Route(rf"/api/v1/notifications/{ID.format('notification_id')}/read", notifications.NotificationReadHandler),
    Route(r"/api/v1/notification-preferences", notifications.PreferencesHandler),
    Route(r"/api/v1/push/statistics", notifications.PushStatisticsHandler),
    Route(r"/api/v1/push/dead-letters/redrive", notifications.DeadLettersRedriveHandler),
    Route(r"/ws", websocket.LiveSocketHandler),  # type: ignore[arg-type]  # a WebSocketHandler, not a JsonHandler
    *face_routes("handlers", MODULES),
]
