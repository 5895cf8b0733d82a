"""The network layer: HTTP, realtime sockets and sessions."""
