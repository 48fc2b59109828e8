"""Attachments (附件): uploaded files (letter images, reply documents, evidence photos) owned by
the user who uploaded them, referenced by id from the objects that carry them."""
