## The account console: connected apps, and the profile.

apps-title = Connected apps
apps-lead = Apps you have signed in to with OneID, and what each may see.
apps-none = You have not used OneID to sign in to any app yet.
apps-first-party = Part of OneID
apps-offline = Offline access
apps-may-see = It may:
apps-offline-hint = It can use your account even when you are not using it.
apps-first-used = First used on { $when }
apps-last-used = Last used on { $when }
apps-first-party-hint = Your administrator made this app part of OneID, so its access cannot be taken back here. To stop using it, sign out of it, or delete your OneID account.
apps-revoke = Remove access
apps-revoke-hint = The app is signed out and loses what you allowed. It will ask you again next time.
apps-revoked = { $app } no longer has access to your account. It will ask you again if you sign in to it.
apps-first-party-refused = This app's access cannot be removed: your administrator made it part of OneID. Sign out of it instead, or delete your OneID account.

profile-title = Profile
profile-lead = Your name is shown to the apps you sign in to. Your language is used for these pages, and for the codes and notices we send you.
profile-name-hint = Up to 64 characters.
profile-language-label = Language
profile-language-hint = Pages open in this language on any device you sign in on, unless you choose another one there.
profile-save = Save
profile-language-unknown = Choose a language from the list.
