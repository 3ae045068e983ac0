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
