"""The embedded broker (`sqla+sqlite://`): kombu's SQLAlchemy transport with a lighter publish.

kombu's channel looks its queue's row up and runs the ORM's unit of work for every
message it sends: about 2 ms inside the engine's request. This channel remembers
each queue's id (kombu never deletes a queue row) and sends the message as one
INSERT in its own short transaction. The rows are the ones kombu writes, and
receiving is kombu's own, so workers, Flower and `job_ids_with_messages` read
them as before.
"""

from __future__ import annotations

import json
from typing import Any

from kombu.transport import sqlalchemy as kombu_sqlalchemy

#: The broker URL prefix this transport serves, and where Celery finds it (`broker_transport`).
URL_PREFIX = "sqla+"
TRANSPORT = f"{__name__}:Transport"


class Channel(kombu_sqlalchemy.Channel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue_ids: dict[str, int] = {}

    # kombu's own bases disagree on this signature (virtual: queue, message; sqlalchemy: queue, payload, **kwargs)
    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        queue_id = self._queue_ids.get(queue)
        if queue_id is None:
            queue_id = self._get_or_create(queue).id
            self.session.commit()  # end the lookup's read; the channel's session lives on
            if queue_id is None:  # kombu could not create the queue's row: its own path raises why
                return super()._put(queue, message, **kwargs)
            self._queue_ids[queue] = queue_id
        with self.session.get_bind().begin() as connection:
            connection.execute(
                self.message_cls.__table__.insert(), {"queue_id": queue_id, "payload": json.dumps(message)}
            )


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel
