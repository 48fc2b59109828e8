"""HTTP plumbing shared by both faces: base handler, endpoint declarations, errors, validation,
idempotency, pagination parameters, OpenAPI and metrics. Holds no module's handlers."""
