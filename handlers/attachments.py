"""Uploads of the staff face (the endpoint itself is shared: backend/http/uploads.py)."""

from backend.http.routes import Route
from backend.http.uploads import UploadEndpoint
from handlers.base import StaffHandler


class UploadHandler(UploadEndpoint, StaffHandler):
    pass


ROUTES = [Route(r"/api/v1/files", UploadHandler)]
