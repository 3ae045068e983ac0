# An authorization request to an app an administrator turned off.
app-disabled-title = This app is turned off
app-disabled-text = An administrator has turned off { $app }, so you cannot sign in to it with OneID now. Try again later, or ask the app's support.
