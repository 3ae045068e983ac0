# "Continue with your mobile number" (/continue)। हर कुंजी en/continue.ftl में भी होनी चाहिए।

continue-title = अपने मोबाइल नंबर से आगे बढ़ें
continue-lead = OneID पर नए हों या लौट रहे हों, तरीका एक ही है: हम 6 अंकों का कोड भेजते हैं, और आप अंदर।
continue-submit = आगे बढ़ें
continue-with-password = इसकी जगह पासवर्ड से साइन इन करें
continue-signup-with-password = पासवर्ड के साथ खाता बनाएँ
continue-sent-to = हमने { $to } पर 6 अंकों का कोड भेजा है। यह 10 मिनट तक काम करेगा।
continue-start-over = यह चरण समाप्त हो गया है या छूट गया था। अपना मोबाइल नंबर या ईमेल फिर से डालें।
continue-create-title = अपना OneID बनाएँ
continue-create-lead = { $to } की पुष्टि हो गई है। पूरा करने के लिए अपना नाम बताएँ।
continue-password-optional = पासवर्ड (वैकल्पिक)
continue-password-hint = आप हमेशा कोड से साइन इन कर सकते हैं। अगर पासवर्ड भी चाहिए तो कम से कम 8 अक्षरों का चुनें, नहीं तो दोनों खाली छोड़ दें।
continue-exists = इस मोबाइल नंबर या ईमेल पर पहले से OneID खाता है। उसमें साइन इन करने के लिए फिर से आगे बढ़ें।
