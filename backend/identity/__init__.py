"""Identity (身份): users (citizens by WeChat openid/unionid, staff by username), the department
tree (city → district → street → community, plus departments), login and sessions."""
