"""The citizen-facing API for the mini-program (``/mp/v1``)."""

from __future__ import annotations

from backend.http.routes import ID, Route, face_routes
from backend.modules import MODULES
from miniprogram_api import files, identity, notifications

ROUTES: list[Route] = [
    Route(r"/mp/v1/auth/login", identity.LoginHandler),
    Route(r"/mp/v1/auth/refresh", identity.RefreshHandler),
    Route(r"/mp/v1/auth/logout", identity.LogoutHandler),
    Route(r"/mp/v1/me", identity.MeHandler),
    Route(r"/mp/v1/me/phone", identity.PhoneHandler),
    Route(r"/mp/v1/files", files.UploadHandler),
    Route(r"/mp/v1/notifications", notifications.NotificationsHandler),
    Route(r"/mp/v1/notifications/read-all", notifications.NotificationsReadAllHandler),
    Route(rf"/mp/v1/notifications/{ID.format('notification_id')}/read", notifications.NotificationReadHandler),
    Route(r"/mp/v1/notification-preferences", notifications.PreferencesHandler),
    Route(r"/mp/v1/subscriptions", notifications.SubscriptionsHandler),
    *face_routes("miniprogram_api", MODULES),
]
