"""Uploads of the citizen face (the endpoint itself is shared: backend/http/uploads.py)."""

from backend.http.routes import Route
from backend.http.uploads import UploadEndpoint
from miniprogram_api.base import CitizenHandler


class UploadHandler(UploadEndpoint, CitizenHandler):
    pass


ROUTES = [Route(r"/mp/v1/files", UploadHandler)]
