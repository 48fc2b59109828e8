"""WeChat (微信): the Official Account (公众号), the mini-program (小程序) and WeCom (企业微信).

- ``client.WeChatClient``: outbound API calls (login, phone number, content check, messages, menu).
- ``tokens.TokenProvider``: one access token per app, refreshed by one caller at a time across processes.
- ``callback.OfficialAccountCallback``: the Official Account message callback, independent of Tornado.
- ``behaviours.DefaultBehaviours``: what the Official Account answers (welcome, menus, keywords, receipts).
- ``fake_server``: a fake WeChat/WeCom server for tests and a local sandbox.

See ``shared/WECHAT.md`` for the platform facts these follow.
"""
