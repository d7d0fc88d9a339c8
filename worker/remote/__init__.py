"""Remote generation over the OpenAI Videos API protocol (VIDEO_PROVIDER=openai).

`api` speaks the protocol through the openai SDK and classifies its errors;
`sunsets` and `breaker` decide when not to spend a request at all;
`generation` moves one job a step forward (submit, recover, poll, download)
without ever waiting for the server to render.
"""
