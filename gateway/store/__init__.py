"""Persistence of per-request records: models, repository, batched writer."""
