"""Protocol v1's transports (docs/PROTOCOL.md): the frames, and the WebSocket
consumer that carries them."""
