# An app requires a stronger sign-in (an administrator set its minimum).
step-up-needed-title = ज़्यादा मज़बूत साइन-इन चाहिए
step-up-needed-heading = { $app } के लिए ज़्यादा मज़बूत साइन-इन चाहिए
step-up-needed-2fa = { $app } में सिर्फ़ दूसरे चरण के साथ जाया जा सकता है: ऑथेंटिकेटर ऐप या पासकी। आपके खाते में अभी इनमें से कोई नहीं है।
step-up-needed-phr = { $app } में सिर्फ़ पासकी (आपका फ़िंगरप्रिंट, चेहरा या स्क्रीन लॉक) से जाया जा सकता है। आपके खाते में अभी कोई पासकी नहीं है।
step-up-needed-then = इसे अपने खाते की सुरक्षा सेटिंग में जोड़ें, फिर { $app } दोबारा खोलें।
step-up-needed-add = अभी जोड़ें
step-up-needed-back = { $app } पर वापस जाएँ
