"""The local renderer: storyboard → frames → H.264 MP4, and the probe that checks any MP4."""

#: Bump when the drawing or encoding changes; recorded on every job it renders.
RENDERER_VERSION = "local-2.0"
