"""Account administration (账号管理) for the system administrator (三员分立: MANAGE_ACCOUNTS only).

It sits above territory and people, like a domain app: it grants data scopes (territory.services.grant_add
/ grant_remove) and links a staff account to its person record. The accounts core (models, roles,
validators, sign-in) still knows no grid; only this package imports territory and people."""
