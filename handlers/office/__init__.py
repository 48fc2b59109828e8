"""The mobile office for staff (``/api/v1/office/...``): one file per part."""

from handlers.office import delegations, documents, notices, tasks

ROUTES = [*documents.ROUTES, *notices.ROUTES, *tasks.ROUTES, *delegations.ROUTES]
