"""The Official Account's configuration (公众号配置): keyword replies, welcome and default replies,
the custom menu and its click replies. The callback's behaviours read it (backend/wechat/behaviours.py)."""
