# The admin console (/admin).
admin-sections = Administration sections
admin-overview = Overview
admin-overview-lead = What is happening in OneID now.
admin-apps = Apps
admin-accounts = Accounts
admin-sessions = Sessions
admin-audit = Audit log
admin-keys = Signing keys
error-not-allowed-title = Not available
error-not-allowed-text = This page is not available to your account. If you think you should see it, ask an administrator.
scope-admin = Administer OneID
account-admin-link = Administration
admin-signed-in-as = Signed in as
