# "Continue with your mobile number" (/continue). Every key here must also exist in hi/continue.ftl.

continue-title = Continue with your mobile number
continue-lead = New to OneID or coming back, it is the same: we send a 6-digit code, then you are in.
continue-submit = Continue
continue-with-password = Sign in with a password instead
continue-signup-with-password = Create an account with a password
continue-sent-to = We sent a 6-digit code to { $to }. It works for 10 minutes.
continue-start-over = That step has expired or was skipped. Enter your mobile number or email again.
continue-create-title = Create your OneID
continue-create-lead = { $to } is confirmed. Tell us your name to finish.
continue-password-optional = Password (optional)
continue-password-hint = You can always sign in with a code. Choose a password of at least 8 characters if you also want one, or leave both empty.
continue-exists = This mobile number or email already has a OneID account. Continue again to sign in to it.
