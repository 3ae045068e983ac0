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

# An administrator without a second factor.
admin-2fa-title = Add a second factor to use the admin console
admin-2fa-text = Administrators can change every account and app, so the console opens only for an administrator who signs in with a second step: an authenticator app or a passkey.
admin-2fa-step-open = Open your account's security settings.
admin-2fa-step-add = Add an authenticator app (any TOTP app, such as Google Authenticator or Microsoft Authenticator) or a passkey, and keep the recovery codes somewhere safe.
admin-2fa-step-back = Come back to the admin console: it asks for your second factor once.
admin-2fa-add = Open security settings
