"""Notifications (消息中心): the in-app inbox, per-channel preferences, and subscribe-message consent.

The inbox is the durable record of every notification push delivers; WeChat, WeCom and the
WebSocket are best-effort copies of it. ``push/`` decides who is told and writes here only through
``use_cases.py``; the two faces read through ``queries.py``.
"""
