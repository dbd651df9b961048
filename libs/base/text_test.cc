#include "libs/base/text.h"

#include <gtest/gtest.h>

#include <string>

namespace claims {
namespace {

TEST(TextTest, AcceptsWellFormedUtf8) {
  for (const std::string& ok : {std::string(""), std::string("abc"), std::string("骨折，住院三天"),
                                std::string("\xf0\x9f\x98\x80"), std::string("\xef\xbf\xbf")}) {
    EXPECT_TRUE(IsValidUtf8(ok)) << ok;
  }
}

TEST(TextTest, RefusesMalformedUtf8) {
  for (const std::string& bad :
       {std::string("\xc0\xaf"), std::string("\xed\xa0\x80"), std::string("\xe4\xb8"),
        std::string("\xff"), std::string("\xf4\x90\x80\x80"), std::string("\x80"),
        std::string("\xe0\x80\xaf")}) {
    EXPECT_FALSE(IsValidUtf8(bad));
  }
}

TEST(TextTest, FindsControlCharacters) {
  EXPECT_TRUE(HasControlCharacter(std::string("a\x01", 2)));
  EXPECT_TRUE(HasControlCharacter("a\nb"));
  EXPECT_TRUE(HasControlCharacter("\x7f"));
  EXPECT_FALSE(HasControlCharacter("骨折 ok"));
}

}  // namespace
}  // namespace claims
