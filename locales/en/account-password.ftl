# The account console's Password for an account made without one ("Continue with your number").

set-password-title = Set a password
set-password-lead = Your account signs in with codes sent to you. Add a password if you also want to sign in with one. Every other device will be signed out; you stay signed in here.
set-password-submit = Set password
change-password-already-set = This account has a password now. Enter it to change it.
