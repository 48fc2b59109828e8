"""Uploads of the citizen face (the endpoint itself is shared: backend/http/uploads.py)."""

from backend.http.uploads import UploadEndpoint
from miniprogram_api.base import CitizenHandler


class UploadHandler(UploadEndpoint, CitizenHandler):
    pass
