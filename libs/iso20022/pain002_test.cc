#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "libs/iso20022/iso20022.h"

namespace claims::iso20022 {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kCreated[] = "2026-03-04T09:30:00";

StatusReport Report() {
  StatusReport r;
  r.message_id = "BANK-RPT-0001";
  r.original_message_id = "B-2026-03-02-0001";
  r.group_status = "PART";
  r.transactions = {
      {"P-1", "ACSC", "", "", 12345},
      {"P-2", "RJCT", "AC04", "账户已销户 & <closed>", 100},
      {"P-3", "PDNG", "", "", std::nullopt},
      {"P-4", "RJCT", "AM04", "", 1},
      {"P-5", "ACCP", "", "checked \"ok\"", 999'999'999'999'999'999},
  };
  return r;
}

// The 1-based line on which `needle` first appears in `text`.
long LineOf(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  if (at == std::string::npos) return -1;
  long line = 1;
  for (size_t i = 0; i < at; ++i) line += text[i] == '\n';
  return line;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ParsePain002Test, ReadsBackWhatWritePain002Wrote) {
  const StatusReport report = Report();
  const std::string xml = WritePain002(report, kCreated);
  Result<StatusReport> parsed = ParsePain002(xml);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, report);
  EXPECT_EQ(parsed->transactions[1].reason_code, "AC04");
  EXPECT_EQ(parsed->transactions[1].original_amount_fen, 100);
  EXPECT_EQ(parsed->transactions[2].original_amount_fen, std::nullopt);
}

TEST(ParsePain002Test, AcceptsAGroupOnlyReport) {
  StatusReport report = Report();
  report.group_status = "RJCT";
  report.transactions.clear();
  Result<StatusReport> parsed = ParsePain002(WritePain002(report, kCreated));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, report);
}

TEST(ParsePain002Test, AcceptsVersions09And03) {
  for (const char* version : {"pain.002.001.09", "pain.002.001.03"}) {
    const std::string xml = Replace(WritePain002(Report(), kCreated), "pain.002.001.10", version);
    Result<StatusReport> parsed = ParsePain002(xml);
    ASSERT_TRUE(parsed.ok()) << version << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, Report());
  }
}

TEST(ParsePain002Test, ReadsWhatBanksAddAroundTheFieldsItNeeds) {
  const std::string xml = R"(<?xml version="1.0" encoding="utf-8"?>
<!-- from the bank -->
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10" xmlns:x="urn:other">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId> R-9 </MsgId><CreDtTm>2026-03-04T09:30:00</CreDtTm>
      <InitgPty><Nm>Bank</Nm></InitgPty></GrpHdr>
    <OrgnlGrpInfAndSts><OrgnlMsgId>B-1</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
    </OrgnlGrpInfAndSts>
    <x:Extra><TxInfAndSts/></x:Extra>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>B-1</OrgnlPmtInfId>
      <TxInfAndSts>
        <StsId>S1</StsId>
        <OrgnlEndToEndId>P-1</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Prtry>BANK-77</Prtry></Rsn><AddtlInf>first</AddtlInf>
          <AddtlInf><![CDATA[second <part>]]></AddtlInf></StsRsnInf>
        <StsRsnInf><Rsn><Cd>AC01</Cd></Rsn></StsRsnInf>
        <OrgnlTxRef><Amt><InstdAmt Ccy="CNY">12.5</InstdAmt></Amt></OrgnlTxRef>
      </TxInfAndSts>
    </OrgnlPmtInfAndSts>
    <OrgnlPmtInfAndSts>
      <TxInfAndSts><OrgnlEndToEndId>P-2</OrgnlEndToEndId><TxSts>ACSC</TxSts>
        <OrgnlTxRef><Amt><InstdAmt Ccy="CNY">0007</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
)";
  Result<StatusReport> parsed = ParsePain002(xml);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->message_id, "R-9");
  EXPECT_EQ(parsed->original_message_id, "B-1");
  EXPECT_EQ(parsed->group_status, "");
  ASSERT_EQ(parsed->transactions.size(), 2u);
  EXPECT_EQ(parsed->transactions[0],
            (TransactionStatus{"P-1", "RJCT", "BANK-77", "first second <part>", 1250}));
  EXPECT_EQ(parsed->transactions[1], (TransactionStatus{"P-2", "ACSC", "", "", 700}));
}

struct BadCase {
  std::string name;
  std::string xml;
  std::string fragment;  // expected in the message
};

TEST(ParsePain002Test, RefusesBadReportsWithLineAndPath) {
  const std::string good = WritePain002(Report(), kCreated);
  const std::string tx3 = "OrgnlPmtInfAndSts[1]/TxInfAndSts[3]";
  std::ostringstream pain001;
  CreditTransferBatch batch{"B-1",
                            "2026-03-02T00:00:00",
                            "Center",
                            "Fund",
                            "1100",
                            "COMMCNSH",
                            Date::FromCivil(2026, 3, 3),
                            {{"P-1", 100, "张三", "6222", "claim C-1 BENEFIT"}}};
  EXPECT_TRUE(WritePain001(batch, pain001).ok());
  const std::string laughs = R"(<?xml version="1.0"?>
<!DOCTYPE Document [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
)" + Replace(good.substr(good.find('\n') + 1), "<AddtlInf>", "<AddtlInf>&f;");

  const std::vector<BadCase> cases = {
      {"empty input", "", "no root element"},
      {"not XML", "hello", "not an XML document"},
      {"malformed", Replace(good, "</TxSts>", "</TxStatus>"), "malformed XML"},
      {"truncated", good.substr(0, good.size() / 2), "malformed XML"},
      {"trailing garbage", good + "<Document/>", "malformed XML"},
      {"undefined entity", Replace(good, "<AddtlInf>", "<AddtlInf>&xxe;"), "malformed XML"},
      {"billion laughs", laughs, "line 2: /: DOCTYPE not allowed"},
      {"external DTD",
       Replace(good, "<Document",
               "<!DOCTYPE Document SYSTEM \"http://127.0.0.1:1/evil.dtd\">\n<Document"),
       "DOCTYPE not allowed"},
      {"DOCTYPE after a comment", Replace(good, "<Document", "<!-- c --><!DOCTYPE d><Document"),
       "DOCTYPE not allowed"},
      {"UTF-16 declared", Replace(good, "UTF-8", "UTF-16"), "UTF-8 only"},
      {"wrong namespace", Replace(good, "pain.002.001.10", "pain.002.001.99"),
       "not a pain.002 namespace"},
      {"no namespace",
       Replace(good, " xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.10\"", ""),
       "namespace '' is not a pain.002"},
      {"pain.001 given instead", pain001.str(),
       "line 2: /Document: namespace 'urn:iso:std:iso:20022:tech:xsd:pain.001.001.09' is not a "
       "pain.002 namespace"},
      {"wrong root", Replace(Replace(good, "<Document", "<Doc"), "</Document>", "</Doc>"),
       "line 2: /Doc: root element is not Document"},
      {"no report",
       Replace(Replace(good, "<CstmrPmtStsRpt>", "<Other>"), "</CstmrPmtStsRpt>", "</Other>"),
       "/Document/CstmrPmtStsRpt: missing"},
      {"missing GrpHdr", Replace(Replace(good, "<GrpHdr>", "<Hdr>"), "</GrpHdr>", "</Hdr>"),
       "/Document/CstmrPmtStsRpt[1]/GrpHdr: missing"},
      {"missing MsgId", Replace(Replace(good, "<MsgId>", "<Id>"), "</MsgId>", "</Id>"),
       "line 4: /Document/CstmrPmtStsRpt[1]/GrpHdr[1]/MsgId: missing"},
      {"empty MsgId", Replace(good, "<MsgId>BANK-RPT-0001</MsgId>", "<MsgId> </MsgId>"),
       "GrpHdr[1]/MsgId: empty"},
      {"missing OrgnlMsgId", Replace(good, "<OrgnlMsgId>B-2026-03-02-0001</OrgnlMsgId>", ""),
       "OrgnlGrpInfAndSts[1]/OrgnlMsgId: missing"},
      {"missing TxSts", Replace(good, "<TxSts>PDNG</TxSts>", ""),
       "line " + std::to_string(LineOf(good, "<OrgnlEndToEndId>P-3") - 1) +
           ": /Document/CstmrPmtStsRpt[1]/" + tx3 + "/TxSts: missing"},
      {"lower-case TxSts", Replace(good, "<TxSts>PDNG</TxSts>", "<TxSts>pdng</TxSts>"),
       tx3 + "/TxSts: 'pdng' is not a 1-4 character code"},
      {"long TxSts", Replace(good, "<TxSts>PDNG</TxSts>", "<TxSts>PENDING</TxSts>"),
       "is not a 1-4 character code"},
      {"TxSts with element content", Replace(good, "<TxSts>PDNG</TxSts>", "<TxSts><b/></TxSts>"),
       "element content"},
      {"missing end-to-end id", Replace(good, "<OrgnlEndToEndId>P-3</OrgnlEndToEndId>", ""),
       tx3 + "/OrgnlEndToEndId: missing"},
      {"end-to-end id 36",
       Replace(good, "<OrgnlEndToEndId>P-3<", "<OrgnlEndToEndId>" + std::string(36, 'x') + "<"),
       "longer than 35"},
      {"duplicate end-to-end id", Replace(good, "<OrgnlEndToEndId>P-3<", "<OrgnlEndToEndId>P-1<"),
       tx3 + "/OrgnlEndToEndId: duplicate P-1 (first at line " +
           std::to_string(LineOf(good, "<OrgnlEndToEndId>P-1") - 1) + ")"},
      {"three decimals", Replace(good, ">123.45<", ">123.450<"), "more than two decimals"},
      {"zero amount", Replace(good, ">123.45<", ">0.00<"), "amount '0.00': zero"},
      {"comma", Replace(good, ">123.45<", ">123,45<"), "not a decimal number"},
      {"negative amount", Replace(good, ">123.45<", ">-123.45<"), "not a decimal number"},
      {"exponent", Replace(good, ">123.45<", ">1E2<"), "not a decimal number"},
      {"empty amount", Replace(good, ">123.45<", "><"), "not a decimal number"},
      {"just a dot", Replace(good, ">123.45<", ">.<"), "not a decimal number"},
      {"19 digits", Replace(good, ">123.45<", ">12345678901234567.00<"), "more than 18 digits"},
      {"other currency", Replace(good, "Ccy=\"CNY\">123.45", "Ccy=\"USD\">123.45"),
       "TxInfAndSts[1]/OrgnlTxRef/Amt/InstdAmt: currency USD (only CNY)"},
      {"no currency", Replace(good, " Ccy=\"CNY\">123.45", ">123.45"), "no Ccy"},
      {"equivalent amount", Replace(good, "<InstdAmt Ccy=\"CNY\">123.45</InstdAmt>", "<EqvtAmt/>"),
       "InstdAmt: missing (only InstdAmt is supported)"},
      {"empty report",
       Replace(good.substr(0, good.find("    <OrgnlPmtInfAndSts>")) +
                   good.substr(good.find("  </CstmrPmtStsRpt>")),
               "<GrpSts>PART</GrpSts>", ""),
       "line 3: /Document/CstmrPmtStsRpt[1]: empty report"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<StatusReport> parsed = ParsePain002(c.xml);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), StartsWith("pain.002: line "));
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.fragment));
    ASSERT_EQ(parsed.status().violations().size(), 1u);
  }
}

// Regression: libxml2 keeps 16-bit line numbers; past line 65535 errors named the line after
// the element's start tag.
TEST(ParsePain002Test, NamesTheRightLinePast65535) {
  StatusReport report = Report();
  report.transactions.clear();
  for (int i = 0; i < 9000; ++i) {
    report.transactions.push_back({"P-" + std::to_string(i), "ACSC", "", "", 100});
  }
  const std::string good = WritePain002(report, kCreated);
  const long line = LineOf(good, "<OrgnlEndToEndId>P-8990<") - 1;  // its TxInfAndSts
  ASSERT_GT(line, 70000);
  const std::string bad = Replace(good, "<OrgnlEndToEndId>P-8990</OrgnlEndToEndId>\n", "");
  Result<StatusReport> parsed = ParsePain002(bad);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("line " + std::to_string(line) +
                        ": /Document/CstmrPmtStsRpt[1]/OrgnlPmtInfAndSts[1]/TxInfAndSts[8991]/"
                        "OrgnlEndToEndId: missing"));
}

TEST(ParsePain002Test, TruncationAtEveryByteNeverSucceedsPartially) {
  const std::string good = WritePain002(Report(), kCreated);
  const Result<StatusReport> full = ParsePain002(good);
  ASSERT_TRUE(full.ok());
  const size_t complete = good.find("</Document>") + std::string("</Document>").size();
  for (size_t n = 0; n < good.size(); ++n) {
    Result<StatusReport> parsed = ParsePain002(std::string_view(good).substr(0, n));
    if (n >= complete) {
      ASSERT_TRUE(parsed.ok()) << n << ": " << parsed.status().ToString();
      EXPECT_EQ(*parsed, *full);
    } else {
      ASSERT_FALSE(parsed.ok()) << "prefix of " << n << " bytes accepted";
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(ParsePain002Test, SurvivesEveryOneByteCorruption) {
  const std::string good = WritePain002(Report(), kCreated);
  int accepted = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (char c : {'<', '&', '>', '\0', '"', 'x', '\xff'}) {
      std::string bad = good;
      bad[i] = c;
      Result<StatusReport> parsed = ParsePain002(bad);
      if (parsed.ok()) {
        ++accepted;
        continue;
      }
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
      EXPECT_THAT(parsed.status().message(), StartsWith("pain.002: line "));
    }
  }
  EXPECT_GT(accepted, 0);  // e.g. a changed character of a reason text
}

TEST(ClassifyStatusTest, SettlesOnlyOnCompletedSettlement) {
  EXPECT_EQ(ClassifyStatus("ACSC"), StatusClass::kSettled);
  EXPECT_EQ(ClassifyStatus("ACCC"), StatusClass::kSettled);
  EXPECT_EQ(ClassifyStatus("RJCT"), StatusClass::kFailed);
  EXPECT_EQ(ClassifyStatus("CANC"), StatusClass::kFailed);
  for (const char* pending : {"ACCP", "ACTC", "ACSP", "ACWC", "ACWP", "PDNG", "RCVD"}) {
    EXPECT_EQ(ClassifyStatus(pending), StatusClass::kPending) << pending;
  }
  for (const char* unknown : {"", "acsc", "ACSC ", "PART", "XXXX"}) {
    EXPECT_EQ(ClassifyStatus(unknown), StatusClass::kUnknown) << unknown;
  }
}

}  // namespace
}  // namespace claims::iso20022
