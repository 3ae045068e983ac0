# An authorization request to an app an administrator turned off.
app-disabled-title = यह ऐप बंद है
app-disabled-text = एक व्यवस्थापक ने { $app } को बंद कर दिया है, इसलिए आप अभी OneID से इसमें साइन इन नहीं कर सकते। बाद में फिर कोशिश करें, या ऐप की सहायता टीम से पूछें।
