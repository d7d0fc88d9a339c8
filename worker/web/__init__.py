"""`spendsense-video serve`: the embedded default's files over HTTP, and the preview page."""
