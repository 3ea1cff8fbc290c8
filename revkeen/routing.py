"""WebSocket routes. The terminal and live-feed consumers add themselves here as they land."""
websocket_urlpatterns: list = []
