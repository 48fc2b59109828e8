"""Attachments (附件): uploaded files (letter images, reply documents, evidence photos) owned by
the user who uploaded them, referenced by id from the objects that carry them."""

from backend.registry import Module, collection, index

MODULE = Module(name="attachments", label="附件", collections=(collection("uploads", index("owner")),))
