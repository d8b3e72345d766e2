// Text of any common encoding comes out as UTF-8 NFC.
#include <gtest/gtest.h>

#include "ingest/text_decode.h"

using m1::ingest::decode_text;

TEST(TextDecode, Utf8PassesThroughAndIsNfc) {
    QByteArray decomposed = "Cafe\xCC\x81";  // e + combining acute
    auto d = decode_text(decomposed);
    EXPECT_EQ(d.encoding, "UTF-8");
    EXPECT_EQ(d.text, QString::fromUtf8("Caf\xC3\xA9"));
    EXPECT_FALSE(d.lossy);
}

TEST(TextDecode, Utf16WithBom) {
    QByteArray b("\xFF\xFE", 2);
    for (char c : std::string("hi")) b.append(c).append('\0');
    auto d = decode_text(b);
    EXPECT_EQ(d.encoding, "UTF-16LE");
    EXPECT_EQ(d.text, "hi");
}

TEST(TextDecode, Latin1IsDetected) {
    QByteArray b = "Le caf\xE9 est tr\xE8s bon, n'est-ce pas? Voil\xE0 la r\xE9ponse du gar\xE7on.";
    auto d = decode_text(b);
    EXPECT_TRUE(d.text.contains(QString::fromUtf8("caf\xC3\xA9")));
    EXPECT_TRUE(d.text.contains(QString::fromUtf8("gar\xC3\xA7on")));
}
