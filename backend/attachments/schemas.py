"""Models of the upload endpoint."""

from backend.schemas import ResponseModel


class UploadOut(ResponseModel):
    id: str
    file_id: str
    filename: str
    content_type: str
    size: int
