"""Attachments (附件): uploaded files (letter images, reply documents, evidence photos) owned by
the user who uploaded them, referenced by id from the objects that carry them and downloaded
through those objects; thumbnails (缩略图) of the images, made once and kept."""

from backend.registry import Module, collection, index

MODULE = Module(name="attachments", label="附件", collections=(
    collection("uploads", index("owner")),
    collection("thumbnails"),  # "<image file id>:<spec>" → the thumbnail's file
))
