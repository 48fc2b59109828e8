"""The push service: domain events → notification rules → channels.

``expander.py`` reads ``yzt:events`` (consumer group), writes each recipient's inbox entry and
queues one delivery job per (notification, channel) on ``yzt:push:<channel>``; ``delivery.py``
runs one consumer group per channel with retries, dead letters and a rate limit; ``fanout.py``
carries live messages to WebSocket connections in any process. ``app.py`` starts it all.
Push imports ``backend`` only, never the HTTP faces.
"""
