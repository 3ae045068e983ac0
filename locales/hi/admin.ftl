# एडमिन कंसोल (/admin)।
admin-sections = प्रशासन के हिस्से
admin-overview = सारांश
admin-overview-lead = OneID में अभी क्या हो रहा है।
admin-apps = ऐप
admin-accounts = खाते
admin-sessions = सत्र
admin-audit = ऑडिट लॉग
admin-keys = साइनिंग कुंजियाँ
error-not-allowed-title = उपलब्ध नहीं
error-not-allowed-text = यह पेज आपके खाते के लिए उपलब्ध नहीं है। अगर आपको लगता है कि आपको इसे देखना चाहिए, तो किसी एडमिन से पूछें।
scope-admin = OneID का प्रबंधन करना
account-admin-link = प्रशासन
admin-signed-in-as = इस नाम से साइन इन:

# An administrator without a second factor.
admin-2fa-title = एडमिन कंसोल के लिए दूसरा फ़ैक्टर जोड़ें
admin-2fa-text = व्यवस्थापक हर खाते और ऐप को बदल सकते हैं, इसलिए कंसोल सिर्फ़ उसी व्यवस्थापक के लिए खुलता है जो दूसरे चरण के साथ साइन इन करता है: ऑथेंटिकेटर ऐप या पासकी।
admin-2fa-step-open = अपने खाते की सुरक्षा सेटिंग खोलें।
admin-2fa-step-add = ऑथेंटिकेटर ऐप (कोई भी TOTP ऐप, जैसे Google Authenticator या Microsoft Authenticator) या पासकी जोड़ें, और रिकवरी कोड किसी सुरक्षित जगह रखें।
admin-2fa-step-back = एडमिन कंसोल पर लौटें: वह एक बार आपका दूसरा फ़ैक्टर माँगेगा।
admin-2fa-add = सुरक्षा सेटिंग खोलें
