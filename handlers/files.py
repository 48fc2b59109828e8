"""Uploads of the staff face (the endpoint itself is shared: backend/http/uploads.py)."""

from backend.http.uploads import UploadEndpoint
from handlers.base import StaffHandler


class UploadHandler(UploadEndpoint, StaffHandler):
    pass
