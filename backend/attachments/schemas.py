"""Models of the upload endpoint and of attachment records in responses."""

from backend.schemas import ResponseModel


class UploadOut(ResponseModel):
    id: str
    file_id: str
    filename: str
    content_type: str
    size: int


class AttachmentOut(ResponseModel):
    """An attachment as the object holding it shows it, with the links to download it."""

    id: str
    file_id: str
    filename: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str | None = None  # images only: ``url`` + ``?thumbnail=1``
