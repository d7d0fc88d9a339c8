"""SpendSense video worker. `celery -A worker worker` finds the Celery app here.

The app is created on first access, not at import, so that importing a helper
module (as the engine hooks do) never fails on configuration it does not need.
"""


def __getattr__(name: str):
    if name in ("app", "celery"):
        from worker.celery_app import app

        return app
    raise AttributeError(f"module 'worker' has no attribute {name!r}")
