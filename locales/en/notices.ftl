## Security notices (account::notices). Never a code, never a link: they name the site to open.
password-notice-subject = Your OneID password was changed
password-notice-text = The password of your OneID account was just changed, and every other device was signed out. If this was you, there is nothing to do. If it was not, open { $host } yourself, choose “Forgot password?” on the sign-in page and set a new one. We never send links; do not share any code with anyone.
contact-added-notice-subject = A contact was added to your OneID account
contact-added-notice-text = A new mobile number or email address ({ $contact }) was added to your OneID account, and can now be used to sign in. If this was not you, open { $host } yourself, sign in and remove it under Phone and email, then change your password.
contact-changed-notice-subject = Your OneID contact was changed
contact-changed-notice-text = This mobile number or email address is no longer on your OneID account: it was replaced by { $contact }. If this was you, there is nothing to do. If it was not, open { $host } yourself and reset your password with another contact on the account, or contact support.
contact-removed-notice-subject = A contact was removed from your OneID account
contact-removed-notice-text = The mobile number or email address { $contact } was removed from your OneID account and can no longer be used to sign in. If this was not you, open { $host } yourself and change your password.
deleted-notice-subject = Your OneID account was deleted
deleted-notice-text = Your OneID account was deleted, as asked. Your phone number, email address, name and password were erased, and every app was signed out. You can sign up again with this mobile number or email at any time on { $host }.
new-browser-notice-subject = New sign-in to your OneID account
new-browser-notice-text = Your OneID account was just signed in to from { $browser }, a browser not used with it before. If this was you, there is nothing to do. If it was not, open { $host } yourself, sign out that session under Sessions and devices and change your password.
method-added-notice-subject = A sign-in method was added to your OneID account
method-added-notice-text = Added to your OneID account for signing in: { $method }. If this was you, there is nothing to do. If it was not, open { $host } yourself, sign in, remove it under Security and change your password.
method-removed-notice-subject = A sign-in method was removed from your OneID account
method-removed-notice-text = Removed from your OneID account: { $method }. If this was you, there is nothing to do. If it was not, open { $host } yourself, change your password and add your second factor again under Security.
recovery-used-notice-subject = A recovery code was used on your OneID account
recovery-used-notice-text = A recovery code was just used in place of your second factor to sign in to your OneID account. If this was you, check how many codes you have left under Security. If it was not, open { $host } yourself, change your password and make new recovery codes.
## The methods the notices above name.
security-method-totp = an authenticator app
security-method-passkey = a passkey
security-method-recovery-codes = a new set of recovery codes (the old ones no longer work)
