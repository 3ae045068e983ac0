# OneID — English. Every key here must also exist in hi/main.ftl (a unit test checks).

## Layout
skip-to-content = Skip to content
language-switcher = Language
footer-text = OneID — one account for Cloud, Talk, Forum and Market.

## Sign up
signup-title = Create your OneID
signup-lead = One free account for Cloud, Talk, Forum and Market.
field-contact = Mobile number or email
field-contact-hint = We will send you a verification code. Numbers without +country code are read as Indian.
signup-get-code = Get verification code
signup-have-account = Already have an account?
signin-link = Sign in
signup-link = Create an account

verify-title = Enter your code
verify-sent-to = We sent a verification code to { $to }.
verify-resend-wait = You can ask for a new code in { $seconds } seconds.
field-code = Verification code
field-new-password = Choose a password
field-new-password-hint = At least 8 characters. A few words together make a strong password.
field-confirm-password = Type the password again
field-name = Your name
verify-create = Create account
verify-resend = Send a new code
verify-change-contact = Use a different number or email

signup-exists-title = You already have an account
signup-exists-text = This number or email already has a OneID account. Sign in with your password instead.

## Sign in
signin-title = Sign in to OneID
signin-lead = Use your mobile number, email or account ID.
field-login-identifier = Mobile number, email or account ID
field-password = Password
signin-submit = Sign in
signin-no-account = New to OneID?
login-invalid = That account and password do not match. Check them and try again.
login-locked = This account is locked after too many failed sign-ins. Unlock it with a code, or try again later.
login-disabled = This account has been disabled.

## Account
account-title = Your account
account-greeting = Hello,
account-id-label = Account ID
account-phone-label = Mobile number
account-email-label = Email
account-id-hint = You can sign in with your account ID as well as your mobile number or email.
signout = Sign out

## Codes
code-wrong = That code is not right. Tries left: { $tries }.
code-unusable = This code can no longer be used. Ask for a new code.
code-expired = This code has expired. Ask for a new code.
code-message-subject = Your OneID code: { $code }
code-message-text = { $code } is your OneID verification code. It expires in { $minutes } minutes. Never share it with anyone.
lock-notice-subject = Your OneID account is locked
lock-notice-text = Your OneID account was locked after many failed sign-in attempts. Your password was not accepted during these attempts. To unlock it, open { $host } yourself, choose “Unlock with a code” on the sign-in page and enter this mobile number or email address; we will send a code there. We never send links; do not share any code with anyone.

## Field errors
error-field-empty = Please fill in this field.
error-field-too-long = This is too long.
error-invalid-phone = That does not look like a valid mobile number.
error-not-mobile = This number cannot receive text messages. Use a mobile number.
error-invalid-email = That does not look like a valid email address.
error-email-confusable = That email address mixes characters from different alphabets, or uses full-width or invisible characters, so it could impersonate another address. Type it in one script, without special characters.
error-invalid-identifier = Enter a mobile number, an email address or a 9–10 digit account ID.
error-password-too-short = Use at least 8 characters.
error-password-too-long = That password is too long.
error-password-mismatch = The two passwords are not the same.
error-password-common = That password is one of the most commonly used, so it is among the first an attacker tries. Choose another: a few unrelated words are easy to remember and hard to guess.
error-invalid-name = The name contains characters that are not allowed.
error-invalid-code = The code has digits only.

## Error pages
error-code-label = Error code
error-go-home = Go to the start page
error-bad-request-title = Something was wrong with that request
error-bad-request-text = Part of the form was missing or could not be read. Go back, check the form and try again.
error-form-expired-title = This form has expired
error-form-expired-text = For your safety, forms stop working after a while or when you sign in or out elsewhere. Go back, reload the page and try again.
error-not-found-title = Page not found
error-not-found-text = There is nothing at this address. Check the link, or start again from the start page.
error-method-title = That action is not possible here
error-method-text = This page cannot be used that way. Start again from the start page.
error-too-large-title = That was too much to send
error-too-large-text = The form was larger than we accept. Shorten what you typed and try again.
error-too-many-title = Too many attempts
error-too-many-text = Please wait a little and try again.
error-too-many-wait = Please try again in { $minutes } min.
error-unavailable-title = OneID is briefly unavailable
error-unavailable-text = We could not complete this just now. Nothing was lost; wait a few seconds and try again.
error-internal-title = Something went wrong on our side
error-internal-text = It is not your fault. Please try again in a moment.

## Apps (OpenID Connect)
oauth-error-title = This sign-in link does not work
oauth-error-text = The app that sent you here asked in a way OneID cannot accept, so we did not send you back to it. Go back to the app and try again; if it keeps happening, tell the app's makers.
oauth-error-detail = Technical detail:
consent-title = Allow access?
consent-wants = would like to:
consent-hint = You can sign in to this app with OneID. It gets only what is listed here.
consent-allow = Allow
consent-deny = Don't allow
scope-openid = Know who you are (your OneID subject identifier)
scope-profile = See your name and account ID
scope-email = See your email address
scope-phone = See your mobile number
scope-offline-access = Stay signed in when you are not using it
form-post-title = Returning you to the app
form-post-hint = If nothing happens, press Continue.
form-post-continue = Continue
logout-confirm-title = Sign out of OneID?
logout-confirm-text = An app asked to sign you out. You will be signed out of OneID in this browser.
logout-stay = Stay signed in
signed-out-title = You are signed out
signed-out-text = You are no longer signed in to OneID in this browser.

## Sign-in with a code, password reset, unlock
login-forgot = Forgot password?
login-with-code = Sign in with a code instead
login-unlock = Unlock with a code
code-login-title = Sign in with a code
code-login-lead = Enter the mobile number or email address of your account. We’ll send it a 6-digit code.
code-login-submit = Sign in
reset-title = Reset your password
reset-lead = Enter the mobile number or email address of your account. We’ll send it a 6-digit code, then you choose a new password.
reset-submit = Save the new password and sign in
unlock-title = Unlock your account
unlock-lead = Enter the mobile number or email address of your account. We’ll send it a 6-digit code that unlocks it.
unlock-submit = Unlock and sign in
unlock-new-password-optional = New password (optional)
unlock-new-password-hint = Leave both empty to keep your password.
recover-send-code = Send the code
recover-back-to-signin = Back to sign-in
recover-sent-to = If an account uses { $to }, a code is on its way to it. It works for 10 minutes.
recover-change-contact = Use a different number or email

## Limits
limit-identifier-hourly = Too many codes were requested for this number or email. Please try again in { $minutes } minutes.
limit-identifier-daily = Too many codes were requested for this number or email today. Please try again in { $minutes } minutes.
limit-identifier-frozen = Too many wrong codes were entered for this number or email, so codes are paused for your security. Please try again in { $minutes } minutes.
limit-ip-codes-hourly = Too many codes were requested from your network. Please try again in { $minutes } minutes.
limit-ip-sign-in-attempts = Too many sign-in attempts came from your network. Please try again in { $minutes } minutes.
limit-sms-global-hourly = We cannot send text messages right now. Please try again in { $minutes } minutes, or use an email address.
limit-ip-sms-countries = Codes cannot be sent to numbers in any more countries from your network today. Please try again in { $minutes } minutes.
limit-ip-interactions = Too many sign-ins to apps were started from your network. Please try again in { $minutes } minutes.
phone-country-not-served = We do not send codes to numbers in this country yet. Please use an email address instead.
phone-type-not-served = This number cannot receive our text messages. Please use a mobile number or an email address.

# How a code to a phone travels (code pages)
code-channel-sms = It comes by SMS.
code-channel-whatsapp = It comes on WhatsApp.
code-failover-sms-whatsapp = If the SMS cannot be sent, it comes on WhatsApp instead.
code-failover-whatsapp-sms = If WhatsApp cannot deliver it, it comes by SMS instead.
code-switch-sms = Send it by SMS instead
code-switch-whatsapp = Send it on WhatsApp instead

## The bot check before a code is sent (README "The bot check")
bot-check-working = Checking that this is a person, not a robot…
bot-check-refused = That check did not go through. Please try again.
bot-check-wait-title = One moment, please
bot-check-wait-text = Please wait { $seconds } seconds, then press Continue.
bot-check-wait-why = This short wait keeps robots from sending codes to phone numbers and email addresses.
bot-check-continue = Continue
