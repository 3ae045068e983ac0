# An app requires a stronger sign-in (an administrator set its minimum).
step-up-needed-title = A stronger sign-in is needed
step-up-needed-heading = { $app } needs a stronger sign-in
step-up-needed-2fa = { $app } lets people in only with a second step: an authenticator app or a passkey. Your account has neither yet.
step-up-needed-phr = { $app } lets people in only with a passkey (your fingerprint, face or screen lock). Your account has none yet.
step-up-needed-then = Add one in your account's security settings, then open { $app } again.
step-up-needed-add = Add one now
step-up-needed-back = Go back to { $app }
