#include "libs/runtime/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace claims::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MaskPersonalDataTest, KeepsFirstFourOfResidentId) {
  EXPECT_EQ(MaskPersonalData("110101199003077777"), "1101**************");
}

TEST(MaskPersonalDataTest, MasksResidentIdEndingInX) {
  EXPECT_EQ(MaskPersonalData("11010119900307777X"), "1101**************");
  EXPECT_EQ(MaskPersonalData("11010119900307777x"), "1101**************");
}

TEST(MaskPersonalDataTest, MasksResidentIdEmbeddedInText) {
  EXPECT_EQ(MaskPersonalData("member 110101199003077777 filed"), "member 1101************** filed");
  EXPECT_EQ(MaskPersonalData("id=11010119900307777X,ok"), "id=1101**************,ok");
}

TEST(MaskPersonalDataTest, MasksResidentIdAdjacentToLetters) {
  EXPECT_EQ(MaskPersonalData("abc110101199003077777def"), "abc1101**************def");
  EXPECT_EQ(MaskPersonalData("ID11010119900307777Xyz"), "ID1101**************yz");
  EXPECT_EQ(MaskPersonalData("身份证110101199003077777号"), "身份证1101**************号");
}

TEST(MaskPersonalDataTest, KeepsLastFourOfBankCard) {
  EXPECT_EQ(MaskPersonalData("6222020200001234567"), "***************4567");        // 19
  EXPECT_EQ(MaskPersonalData("card 6222020200001234."), "card ************1234.");  // 16
  EXPECT_EQ(MaskPersonalData("4000000000002"), "*********0002");                    // 13
}

TEST(MaskPersonalDataTest, MasksRunsLongerThanACard) {
  EXPECT_EQ(MaskPersonalData("12345678901234567890"), "****************7890");
}

TEST(MaskPersonalDataTest, KeepsFirstThreeAndLastFourOfMobile) {
  EXPECT_EQ(MaskPersonalData("13800138000"), "138****8000");
  EXPECT_EQ(MaskPersonalData("tel:13800138000;"), "tel:138****8000;");
  EXPECT_EQ(MaskPersonalData("call13800138000now"), "call138****8000now");
}

TEST(MaskPersonalDataTest, LeavesOtherNumbersAlone) {
  for (std::string_view text : {"", "claim 42 paid 1200 fen", "23800138000", "2024-05-01",
                                "123456789012", "1380013800", "v1.2.3", "no digits at all"}) {
    EXPECT_EQ(MaskPersonalData(text), text) << text;
  }
}

TEST(MaskPersonalDataTest, MasksEverySeparateOccurrence) {
  EXPECT_EQ(MaskPersonalData("a 13800138000 b 13900139000 c 110101199003077777"),
            "a 138****8000 b 139****9000 c 1101**************");
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString("plain"), "\"plain\"");
  EXPECT_EQ(JsonString("say \"hi\" \\ bye"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(JsonString("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
  EXPECT_EQ(JsonString(std::string("\x00\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
}

TEST(JsonStringTest, PassesValidUtf8Through) {
  EXPECT_EQ(JsonString("互助 café 🚑"), "\"互助 café 🚑\"");
  EXPECT_EQ(JsonString("\xF4\x8F\xBF\xBF"), "\"\xF4\x8F\xBF\xBF\"");  // U+10FFFF
}

TEST(JsonStringTest, ReplacesInvalidUtf8) {
  const std::string kReplacement = "\xEF\xBF\xBD";
  EXPECT_EQ(JsonString("a\xFF"
                       "b"),
            "\"a" + kReplacement + "b\"");
  EXPECT_EQ(JsonString("\xC0\xAF"), "\"" + kReplacement + kReplacement + "\"");  // overlong
  EXPECT_EQ(JsonString("\xED\xA0\x80"),
            "\"" + kReplacement + kReplacement + kReplacement + "\"");  // surrogate
  EXPECT_EQ(JsonString("\xE4\xBA"), "\"" + kReplacement + "\"");        // truncated at the end
  EXPECT_EQ(JsonString("\xE4\xBA"
                       "x"),
            "\"" + kReplacement + "x\"");  // truncated mid-text
  EXPECT_EQ(JsonString("\xF5\x80"), "\"" + kReplacement + kReplacement + "\"");  // > U+10FFFF
  EXPECT_EQ(JsonString("\x80"), "\"" + kReplacement + "\"");  // lone continuation
}

TEST(LogLevelTest, ParsesItsOwnNames) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    Result<LogLevel> parsed = ParseLogLevel(LogLevelName(level));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, level);
  }
  EXPECT_FALSE(ParseLogLevel("loud").ok());
}

// A logger with a fixed clock that collects its lines.
struct CapturedLogger {
  explicit CapturedLogger(LogLevel min_level = LogLevel::kInfo)
      : logger("intake", LoggerOptions{
                             .min_level = min_level,
                             .sink = [this](std::string_view line) { lines.emplace_back(line); },
                             .clock =
                                 [] {
                                   // 2024-05-01T08:00:00.123Z
                                   return std::chrono::system_clock::time_point(
                                       std::chrono::milliseconds(1714550400123));
                                 },
                         }) {}
  std::vector<std::string> lines;
  Logger logger;
};

TEST(LoggerTest, WritesOneJsonObjectPerLine) {
  CapturedLogger log;
  log.logger.Info("claim accepted",
                  {{"claim_id", "c-1"}, {"amount_fen", 120000}, {"first", true}, {"ratio", 0.5}});
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_EQ(log.lines[0],
            R"({"ts":"2024-05-01T08:00:00.123Z","level":"info","service":"intake",)"
            R"("msg":"claim accepted","claim_id":"c-1","amount_fen":120000,"first":true,)"
            R"("ratio":0.5})"
            "\n");
}

TEST(LoggerTest, PutsTraceIdRightAfterMessage) {
  CapturedLogger log;
  log.logger.Warn("slow", {{"ms", 1500}, {"trace_id", "4bf92f35"}});
  EXPECT_EQ(log.lines.at(0),
            R"({"ts":"2024-05-01T08:00:00.123Z","level":"warn","service":"intake",)"
            R"("msg":"slow","trace_id":"4bf92f35","ms":1500})"
            "\n");
}

// Regression: a trace id of intake's form (32 hex digits) with a run of 13 digits was masked
// like a card number, so the claim's trace could not be found in the logs.
TEST(LoggerTest, KeepsTraceIdsOfThePipelinesFormUnmasked) {
  CapturedLogger log;
  log.logger.Info("decided", {{"trace_id", "1234567890123456abcdef0123456789"},
                              {"other", "1234567890123456abcdef0123456789"}});
  EXPECT_THAT(log.lines.at(0), HasSubstr(R"("trace_id":"1234567890123456abcdef0123456789")"));
  EXPECT_THAT(log.lines.at(0), HasSubstr(R"("other":"************3456abcdef0123456789")"));
  // Any other form is masked: upper case, another length, a resident ID number.
  for (const char* value : {"1234567890123456ABCDEF0123456789", "1234567890123456abcdef012345678",
                            "110101199003077777"}) {
    log.lines.clear();
    log.logger.Info("x", {{"trace_id", value}});
    EXPECT_THAT(log.lines.at(0), Not(HasSubstr(value))) << value;
  }
  EXPECT_TRUE(IsTraceId("00000000000000000000000000000000"));
  EXPECT_FALSE(IsTraceId(""));
  EXPECT_FALSE(IsTraceId("g0000000000000000000000000000000"));
}

TEST(LoggerTest, RenamesFieldsThatWouldHideReservedKeys) {
  CapturedLogger log;
  log.logger.Error("x", {{"msg", "y"}, {"level", "z"}});
  EXPECT_THAT(log.lines.at(0), HasSubstr(R"("msg":"x","field_msg":"y","field_level":"z"})"));
}

TEST(LoggerTest, EscapesMessageAndFieldValues) {
  CapturedLogger log;
  log.logger.Info("line1\nline2 \"q\"", {{"path", "C:\\dir"}, {"bad", "\xFF"}});
  EXPECT_THAT(log.lines.at(0), HasSubstr(R"("msg":"line1\nline2 \"q\"")"));
  EXPECT_THAT(log.lines.at(0), HasSubstr(R"("path":"C:\\dir")"));
  EXPECT_THAT(log.lines.at(0), HasSubstr("\"bad\":\"\xEF\xBF\xBD\""));
  EXPECT_EQ(log.lines.at(0).find('\n'), log.lines.at(0).size() - 1);
}

TEST(LoggerTest, MasksPersonalDataInMessageAndEveryFieldValue) {
  CapturedLogger log;
  log.logger.Info("member 110101199003077777 called from 13800138000",
                  {{"card", "6222020200001234567"},
                   {"id_x", "11010119900307777X"},
                   {"card_number", int64_t{6222020200001234567}},
                   {"status", InvalidArgument("bad id 110101199003077777")},
                   {"trace_id", "13800138000"}});
  const std::string& line = log.lines.at(0);
  EXPECT_THAT(line, HasSubstr(R"("msg":"member 1101************** called from 138****8000")"));
  EXPECT_THAT(line, HasSubstr(R"("card":"***************4567")"));
  EXPECT_THAT(line, HasSubstr(R"("id_x":"1101**************")"));
  EXPECT_THAT(line, HasSubstr(R"("card_number":"***************4567")"));
  EXPECT_THAT(line, HasSubstr(R"("status":"INVALID_ARGUMENT: bad id 1101**************")"));
  EXPECT_THAT(line, HasSubstr(R"("trace_id":"138****8000")"));
  for (std::string_view secret : {"199003077777", "0200001234567", "0013"}) {
    EXPECT_THAT(line, Not(HasSubstr(std::string(secret))));
  }
}

TEST(LoggerTest, DropsLinesBelowMinimumLevel) {
  CapturedLogger log(LogLevel::kWarn);
  log.logger.Debug("d");
  log.logger.Info("i");
  log.logger.Warn("w");
  log.logger.Error("e");
  ASSERT_EQ(log.lines.size(), 2u);
  EXPECT_THAT(log.lines[0], HasSubstr(R"("level":"warn")"));
  EXPECT_THAT(log.lines[1], HasSubstr(R"("level":"error")"));
  log.logger.SetMinLevel(LogLevel::kDebug);
  log.logger.Debug("d");
  EXPECT_EQ(log.lines.size(), 3u);
}

TEST(LoggerTest, WritesNonFiniteDoublesAsStrings) {
  CapturedLogger log;
  log.logger.Info("x", {{"nan", std::nan("")}, {"inf", std::numeric_limits<double>::infinity()}});
  EXPECT_THAT(log.lines.at(0), HasSubstr(R"("nan":"NaN","inf":"+Inf")"));
}

TEST(LoggerTest, ConcurrentLinesNeverInterleave) {
  CapturedLogger log;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) log.logger.Info("tick", {{"thread", t}, {"i", i}});
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(log.lines.size(), 1600u);
  for (const std::string& line : log.lines) {
    EXPECT_EQ(line.front(), '{');
    EXPECT_EQ(line.substr(line.size() - 2), "}\n");
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  }
}

}  // namespace
}  // namespace claims::runtime
