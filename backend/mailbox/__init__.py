"""Government mailbox (政府信箱): citizens' letters from intake to dispatch, handling, review,
rating and public disclosure — "外网受理、内网办理、外网反馈、实时监控"."""
