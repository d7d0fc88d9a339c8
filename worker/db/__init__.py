"""Database access: models, sessions and the migration check."""
