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
