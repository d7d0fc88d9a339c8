"""Alembic migrations for the video_jobs schema (a package so it ships with the install)."""
