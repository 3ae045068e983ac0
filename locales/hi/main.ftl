# OneID — हिन्दी। हर कुंजी en/main.ftl में भी होनी चाहिए (एक यूनिट टेस्ट जाँचता है)।

## Layout
skip-to-content = मुख्य सामग्री पर जाएँ
language-switcher = भाषा
footer-text = OneID — Cloud, Talk, Forum और Market के लिए एक खाता।

## Sign up
signup-title = अपना OneID बनाएँ
signup-lead = Cloud, Talk, Forum और Market के लिए एक मुफ़्त खाता।
field-contact = मोबाइल नंबर या ईमेल
field-contact-hint = हम आपको एक सत्यापन कोड भेजेंगे। +देश कोड के बिना नंबर भारतीय माने जाते हैं।
signup-get-code = सत्यापन कोड पाएँ
signup-have-account = क्या आपका पहले से खाता है?
signin-link = साइन इन करें
signup-link = खाता बनाएँ

verify-title = अपना कोड डालें
verify-sent-to = हमने { $to } पर एक सत्यापन कोड भेजा है।
verify-resend-wait = आप { $seconds } सेकंड बाद नया कोड माँग सकते हैं।
field-code = सत्यापन कोड
field-new-password = पासवर्ड चुनें
field-new-password-hint = कम से कम 8 अक्षर। कुछ शब्दों को मिलाकर बना पासवर्ड मज़बूत होता है।
field-confirm-password = पासवर्ड दोबारा लिखें
field-name = आपका नाम
verify-create = खाता बनाएँ
verify-resend = नया कोड भेजें
verify-change-contact = कोई दूसरा नंबर या ईमेल इस्तेमाल करें

signup-exists-title = आपका खाता पहले से है
signup-exists-text = इस नंबर या ईमेल पर पहले से OneID खाता है। इसकी जगह अपने पासवर्ड से साइन इन करें।

## Sign in
signin-title = OneID में साइन इन करें
signin-lead = अपना मोबाइल नंबर, ईमेल या खाता आईडी इस्तेमाल करें।
field-login-identifier = मोबाइल नंबर, ईमेल या खाता आईडी
field-password = पासवर्ड
signin-submit = साइन इन करें
signin-no-account = OneID पर नए हैं?
login-invalid = यह खाता और पासवर्ड मेल नहीं खाते। जाँचकर फिर से कोशिश करें।
login-locked = बहुत सारे असफल साइन-इन के बाद यह खाता लॉक है। इसे कोड से अनलॉक करें, या बाद में फिर से कोशिश करें।
login-disabled = यह खाता बंद कर दिया गया है।

## Account
account-title = आपका खाता
account-greeting = नमस्ते,
account-id-label = खाता आईडी
account-phone-label = मोबाइल नंबर
account-email-label = ईमेल
account-id-hint = आप मोबाइल नंबर या ईमेल के अलावा अपनी खाता आईडी से भी साइन इन कर सकते हैं।
signout = साइन आउट करें

## Codes
code-wrong = यह कोड सही नहीं है। बची हुई कोशिशें: { $tries }।
code-unusable = यह कोड अब इस्तेमाल नहीं हो सकता। नया कोड माँगें।
code-expired = इस कोड की समय-सीमा खत्म हो गई है। नया कोड माँगें।
code-message-subject = आपका OneID कोड: { $code }
code-message-text = { $code } आपका OneID सत्यापन कोड है। यह { $minutes } मिनट में समाप्त हो जाएगा। इसे कभी किसी के साथ साझा न करें।
lock-notice-subject = आपका OneID खाता लॉक है
lock-notice-text = कई असफल साइन-इन कोशिशों के बाद आपका OneID खाता लॉक कर दिया गया है। इन कोशिशों में आपका पासवर्ड स्वीकार नहीं हुआ। इसे अनलॉक करने के लिए ख़ुद { $host } खोलें, साइन-इन पेज पर “कोड से अनलॉक करें” चुनें और यही मोबाइल नंबर या ईमेल पता डालें; हम वहाँ एक कोड भेजेंगे। हम कभी लिंक नहीं भेजते; कोई भी कोड किसी के साथ साझा न करें।

## Field errors
error-field-empty = कृपया यह जानकारी भरें।
error-field-too-long = यह बहुत लंबा है।
error-invalid-phone = यह सही मोबाइल नंबर नहीं लगता।
error-not-mobile = इस नंबर पर SMS नहीं आ सकते। मोबाइल नंबर इस्तेमाल करें।
error-invalid-email = यह सही ईमेल पता नहीं लगता।
error-email-confusable = यह ईमेल पता अलग-अलग लिपियों के अक्षर मिलाता है, या पूरी-चौड़ाई वाले या अदृश्य अक्षर इस्तेमाल करता है, जिससे यह किसी दूसरे पते जैसा दिख सकता है। इसे एक ही लिपि में, बिना विशेष अक्षरों के लिखें।
error-invalid-identifier = मोबाइल नंबर, ईमेल पता या 9–10 अंकों की खाता आईडी डालें।
error-password-too-short = कम से कम 8 अक्षर इस्तेमाल करें।
error-password-too-long = यह पासवर्ड बहुत लंबा है।
error-password-mismatch = दोनों पासवर्ड एक जैसे नहीं हैं।
error-password-common = यह पासवर्ड सबसे आम पासवर्डों में से है, इसलिए हमलावर इसे सबसे पहले आज़माते हैं। कोई दूसरा चुनें: कुछ असंबंधित शब्द याद रखना आसान और अनुमान लगाना कठिन होता है।
error-invalid-name = नाम में ऐसे अक्षर हैं जिनकी अनुमति नहीं है।
error-invalid-code = कोड में केवल अंक होते हैं।

## Error pages
error-code-label = त्रुटि कोड
error-go-home = शुरुआती पेज पर जाएँ
error-bad-request-title = इस अनुरोध में कुछ गड़बड़ थी
error-bad-request-text = फ़ॉर्म का कुछ हिस्सा छूट गया था या पढ़ा नहीं जा सका। वापस जाएँ, फ़ॉर्म जाँचें और फिर से कोशिश करें।
error-form-expired-title = इस फ़ॉर्म की समय-सीमा खत्म हो गई है
error-form-expired-text = आपकी सुरक्षा के लिए फ़ॉर्म कुछ समय बाद, या कहीं और साइन इन/आउट करने पर, काम करना बंद कर देते हैं। वापस जाएँ, पेज रीलोड करें और फिर से कोशिश करें।
error-not-found-title = पेज नहीं मिला
error-not-found-text = इस पते पर कुछ नहीं है। लिंक जाँचें, या शुरुआती पेज से फिर शुरू करें।
error-method-title = यहाँ यह काम नहीं हो सकता
error-method-text = इस पेज का इस तरह इस्तेमाल नहीं हो सकता। शुरुआती पेज से फिर शुरू करें।
error-too-large-title = भेजी गई जानकारी बहुत ज़्यादा थी
error-too-large-text = फ़ॉर्म हमारी सीमा से बड़ा था। जो लिखा है उसे छोटा करके फिर से कोशिश करें।
error-too-many-title = बहुत ज़्यादा कोशिशें
error-too-many-text = कृपया थोड़ी देर रुककर फिर से कोशिश करें।
error-too-many-wait = कृपया { $minutes } मिनट बाद फिर से कोशिश करें।
error-unavailable-title = OneID कुछ देर के लिए उपलब्ध नहीं है
error-unavailable-text = हम यह अभी पूरा नहीं कर सके। कुछ भी खोया नहीं है; कुछ सेकंड रुककर फिर से कोशिश करें।
error-internal-title = हमारी तरफ़ से कुछ गड़बड़ हो गई
error-internal-text = इसमें आपकी कोई गलती नहीं है। कृपया थोड़ी देर में फिर से कोशिश करें।

## Apps (OpenID Connect)
oauth-error-title = यह साइन-इन लिंक काम नहीं करता
oauth-error-text = जिस ऐप ने आपको यहाँ भेजा, उसने ऐसे अनुरोध किया जिसे OneID स्वीकार नहीं कर सकता, इसलिए हमने आपको वापस नहीं भेजा। ऐप पर वापस जाकर फिर से कोशिश करें; ऐसा बार-बार हो तो ऐप बनाने वालों को बताएँ।
oauth-error-detail = तकनीकी जानकारी:
consent-title = अनुमति दें?
consent-wants = यह करना चाहता है:
consent-hint = आप इस ऐप में OneID से साइन इन कर सकते हैं। इसे केवल वही मिलेगा जो यहाँ लिखा है।
consent-allow = अनुमति दें
consent-deny = अनुमति न दें
scope-openid = जानना कि आप कौन हैं (आपका OneID पहचानकर्ता)
scope-profile = आपका नाम और खाता आईडी देखना
scope-email = आपका ईमेल पता देखना
scope-phone = आपका मोबाइल नंबर देखना
scope-offline-access = जब आप इस्तेमाल न कर रहे हों, तब भी साइन इन रहना
form-post-title = आपको ऐप पर वापस भेजा जा रहा है
form-post-hint = अगर कुछ न हो, तो जारी रखें दबाएँ।
form-post-continue = जारी रखें
logout-confirm-title = OneID से साइन आउट करें?
logout-confirm-text = एक ऐप ने आपको साइन आउट करने को कहा है। इस ब्राउज़र में आप OneID से साइन आउट हो जाएँगे।
logout-stay = साइन इन रहें
signed-out-title = आप साइन आउट हो गए हैं
signed-out-text = अब आप इस ब्राउज़र में OneID में साइन इन नहीं हैं।

## Sign-in with a code, password reset, unlock
login-forgot = पासवर्ड भूल गए?
login-with-code = इसके बजाय कोड से साइन इन करें
login-unlock = कोड से अनलॉक करें
code-login-title = कोड से साइन इन करें
code-login-lead = अपने खाते का मोबाइल नंबर या ईमेल पता डालें। हम उस पर 6 अंकों का कोड भेजेंगे।
code-login-submit = साइन इन करें
reset-title = अपना पासवर्ड रीसेट करें
reset-lead = अपने खाते का मोबाइल नंबर या ईमेल पता डालें। हम उस पर 6 अंकों का कोड भेजेंगे, फिर आप नया पासवर्ड चुनें।
reset-submit = नया पासवर्ड सहेजें और साइन इन करें
unlock-title = अपना खाता अनलॉक करें
unlock-lead = अपने खाते का मोबाइल नंबर या ईमेल पता डालें। हम उस पर 6 अंकों का कोड भेजेंगे जिससे खाता अनलॉक होगा।
unlock-submit = अनलॉक करें और साइन इन करें
unlock-new-password-optional = नया पासवर्ड (वैकल्पिक)
unlock-new-password-hint = अपना पासवर्ड रखने के लिए दोनों खाली छोड़ें।
recover-send-code = कोड भेजें
recover-back-to-signin = साइन इन पर वापस जाएँ
recover-sent-to = अगर कोई खाता { $to } का उपयोग करता है, तो उस पर कोड भेजा जा रहा है। यह 10 मिनट तक मान्य है।
recover-change-contact = कोई दूसरा नंबर या ईमेल इस्तेमाल करें

## Limits
limit-identifier-hourly = इस नंबर या ईमेल के लिए बहुत ज़्यादा कोड माँगे गए हैं। कृपया { $minutes } मिनट बाद फिर से कोशिश करें।
limit-identifier-daily = आज इस नंबर या ईमेल के लिए बहुत ज़्यादा कोड माँगे गए हैं। कृपया { $minutes } मिनट बाद फिर से कोशिश करें।
limit-identifier-frozen = इस नंबर या ईमेल के लिए बहुत बार गलत कोड डाले गए हैं, इसलिए आपकी सुरक्षा के लिए कोड अभी रोक दिए गए हैं। कृपया { $minutes } मिनट बाद फिर से कोशिश करें।
limit-ip-codes-hourly = आपके नेटवर्क से बहुत ज़्यादा कोड माँगे गए हैं। कृपया { $minutes } मिनट बाद फिर से कोशिश करें।
limit-ip-sign-in-attempts = आपके नेटवर्क से साइन इन की बहुत ज़्यादा कोशिशें हुई हैं। कृपया { $minutes } मिनट बाद फिर से कोशिश करें।
limit-sms-global-hourly = हम अभी SMS नहीं भेज पा रहे हैं। कृपया { $minutes } मिनट बाद फिर से कोशिश करें, या ईमेल पता इस्तेमाल करें।
limit-ip-sms-countries = आज आपके नेटवर्क से और देशों के नंबरों पर कोड नहीं भेजे जा सकते। कृपया { $minutes } मिनट बाद फिर से कोशिश करें।
limit-ip-interactions = आपके नेटवर्क से ऐप्स में साइन इन की बहुत ज़्यादा शुरुआतें हुई हैं। कृपया { $minutes } मिनट बाद फिर से कोशिश करें।
phone-country-not-served = हम अभी इस देश के नंबरों पर कोड नहीं भेजते। कृपया इसकी जगह ईमेल पता इस्तेमाल करें।
phone-type-not-served = इस नंबर पर हमारे SMS नहीं पहुँच सकते। कृपया मोबाइल नंबर या ईमेल पता इस्तेमाल करें।

# How a code to a phone travels (code pages)
code-channel-sms = यह SMS से आएगा।
code-channel-whatsapp = यह WhatsApp पर आएगा।
code-failover-sms-whatsapp = अगर SMS नहीं भेजा जा सका, तो यह WhatsApp पर आएगा।
code-failover-whatsapp-sms = अगर WhatsApp पर नहीं पहुँचा, तो यह SMS से आएगा।
code-switch-sms = इसके बजाय SMS से भेजें
code-switch-whatsapp = इसके बजाय WhatsApp पर भेजें

## कोड भेजने से पहले की रोबोट जाँच (README "The bot check")
bot-check-working = जाँच हो रही है कि आप इंसान हैं, रोबोट नहीं…
bot-check-refused = यह जाँच पूरी नहीं हो सकी। कृपया फिर से कोशिश करें।
bot-check-wait-title = कृपया एक पल रुकें
bot-check-wait-text = कृपया { $seconds } सेकंड रुकें, फिर "आगे बढ़ें" दबाएँ।
bot-check-wait-why = यह छोटा-सा इंतज़ार रोबोट को फ़ोन नंबरों और ईमेल पतों पर कोड भेजने से रोकता है।
bot-check-continue = आगे बढ़ें
