#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "libs/iso20022/iso20022.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace claims::iso20022 {
namespace {

using test_support::ChildProcess;
using test_support::ReadFile;
using test_support::SpawnOptions;
using test_support::TempDir;
using ::testing::HasSubstr;

CreditTransfer Transfer(int i, int64_t fen) {
  return CreditTransfer{.end_to_end_id = "P-" + std::to_string(i),
                        .amount_fen = fen,
                        .creditor_name = "张三" + std::to_string(i),
                        .creditor_account = "6222020200112233" + std::to_string(i % 10),
                        .remittance = "claim C-" + std::to_string(i) + " BENEFIT"};
}

CreditTransferBatch Batch(int n) {
  CreditTransferBatch b{.message_id = "B-2026-03-02-0001",
                        .creation_date_time = "2026-03-02T00:00:00",
                        .initiating_party_name = "某市职工互助保障中心",
                        .debtor_name = "六送专项保障基金",
                        .debtor_account = "110060149018000123456",
                        .debtor_agent_bic = "COMMCNSHXXX",
                        .requested_execution_date = Date::FromCivil(2026, 3, 3),
                        .transfers = {}};
  for (int i = 0; i < n; ++i) b.transfers.push_back(Transfer(i, 100 + i));
  return b;
}

std::string Write(const CreditTransferBatch& batch) {
  std::ostringstream out;
  Status s = WritePain001(batch, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out.str();
}

// Runs xmllint --schema on the document; "" when valid, else its diagnostics.
std::string SchemaErrors(const std::string& xml) {
  Result<TempDir> dir = TempDir::Create("iso20022-test");
  if (!dir.ok()) return dir.status().ToString();
  const std::string file = dir->File("pain001.xml");
  std::ofstream(file, std::ios::binary) << xml;
  SpawnOptions options{.env = {}, .stdout_path = dir->File("out"), .stderr_path = dir->File("err")};
  Result<ChildProcess> child = ChildProcess::Spawn(
      {CLAIMS_XMLLINT, "--noout", "--nonet", "--schema", CLAIMS_PAIN001_XSD, file}, options);
  if (!child.ok()) return child.status().ToString();
  Result<int> code = child->Wait(std::chrono::seconds(60));
  if (!code.ok()) return code.status().ToString();
  if (*code == 0) return "";
  Result<std::string> err = ReadFile(dir->File("err"));
  return "xmllint exit " + std::to_string(*code) + ": " + (err.ok() ? err->substr(0, 4000) : "");
}

// Amount text with exactly two decimals, in fen; -1 otherwise.
int64_t Fen(const std::string& text) {
  const size_t dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || text.size() - dot != 3) return -1;
  int64_t fen = 0;
  for (char c : text) {
    if (c == '.') continue;
    if (c < '0' || c > '9') return -1;
    fen = fen * 10 + (c - '0');
  }
  return fen;
}

std::vector<const xmlNode*> Elements(const xmlNode* parent, const std::string& name) {
  std::vector<const xmlNode*> out;
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && name == reinterpret_cast<const char*>(c->name)) {
      out.push_back(c);
    }
  }
  return out;
}
const xmlNode* Element(const xmlNode* parent, const std::string& path) {
  const xmlNode* node = parent;
  std::stringstream parts(path);
  std::string part;
  while (node != nullptr && std::getline(parts, part, '/')) {
    std::vector<const xmlNode*> found = Elements(node, part);
    node = found.size() == 1 ? found[0] : nullptr;
  }
  return node;
}
std::string Text(const xmlNode* parent, const std::string& path) {
  const xmlNode* node = Element(parent, path);
  if (node == nullptr) return "<missing " + path + ">";
  xmlChar* content = xmlNodeGetContent(node);
  std::string text = reinterpret_cast<const char*>(content);
  xmlFree(content);
  return text;
}

// Reads the written file back with libxml2 and checks what the schema cannot: both levels'
// NbOfTxs and CtrlSum against the transactions, and every transaction against the input.
void ExpectContent(const std::string& xml, const CreditTransferBatch& batch) {
  xmlDocPtr doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, "UTF-8",
                                XML_PARSE_NONET | XML_PARSE_HUGE);
  ASSERT_NE(doc, nullptr);
  const xmlNode* root = xmlDocGetRootElement(doc);
  ASSERT_NE(Element(root, "CstmrCdtTrfInitn/GrpHdr"), nullptr);
  const xmlNode* pmt = Element(root, "CstmrCdtTrfInitn/PmtInf");
  ASSERT_NE(pmt, nullptr);
  std::vector<const xmlNode*> txs = Elements(pmt, "CdtTrfTxInf");
  int64_t sum = 0;
  int64_t input_sum = 0;
  ASSERT_EQ(txs.size(), batch.transfers.size());
  for (size_t i = 0; i < txs.size(); ++i) {
    const CreditTransfer& t = batch.transfers[i];
    const int64_t fen = Fen(Text(txs[i], "Amt/InstdAmt"));
    ASSERT_GT(fen, 0) << Text(txs[i], "Amt/InstdAmt");
    sum += fen;
    input_sum += t.amount_fen;
    EXPECT_EQ(fen, t.amount_fen) << i;
    xmlChar* ccy = xmlGetProp(Element(txs[i], "Amt/InstdAmt"), BAD_CAST "Ccy");
    EXPECT_STREQ(reinterpret_cast<const char*>(ccy), "CNY");
    xmlFree(ccy);
    EXPECT_EQ(Text(txs[i], "PmtId/EndToEndId"), t.end_to_end_id);
    EXPECT_EQ(Text(txs[i], "Cdtr/Nm"), t.creditor_name);
    EXPECT_EQ(Text(txs[i], "CdtrAcct/Id/Othr/Id"), t.creditor_account);
    EXPECT_EQ(Text(txs[i], "RmtInf/Ustrd"), t.remittance);
  }
  EXPECT_EQ(sum, input_sum);
  const std::string count = std::to_string(txs.size());
  EXPECT_EQ(Text(root, "CstmrCdtTrfInitn/GrpHdr/NbOfTxs"), count);
  EXPECT_EQ(Text(pmt, "NbOfTxs"), count);
  EXPECT_EQ(Fen(Text(root, "CstmrCdtTrfInitn/GrpHdr/CtrlSum")), sum);
  EXPECT_EQ(Fen(Text(pmt, "CtrlSum")), sum);
  EXPECT_EQ(Text(root, "CstmrCdtTrfInitn/GrpHdr/MsgId"), batch.message_id);
  EXPECT_EQ(Text(root, "CstmrCdtTrfInitn/GrpHdr/InitgPty/Nm"), batch.initiating_party_name);
  EXPECT_EQ(Text(pmt, "Dbtr/Nm"), batch.debtor_name);
  EXPECT_EQ(Text(pmt, "ReqdExctnDt/Dt"), batch.requested_execution_date.ToString());
  xmlFreeDoc(doc);

  Result<Pain001Totals> totals = ValidatePain001(batch);
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->number_of_transactions, static_cast<int64_t>(txs.size()));
  EXPECT_EQ(totals->control_sum_fen, sum);
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

struct ValidCase {
  std::string name;
  std::function<void(CreditTransferBatch&)> edit;
};

TEST(WritePain001Test, WritesSchemaValidFilesWithExactTotals) {
  const std::vector<ValidCase> cases = {
      {"one payment", [](CreditTransferBatch& b) { b.transfers.resize(1); }},
      {"1,000 payments", [](CreditTransferBatch& b) { b = Batch(1000); }},
      {"Chinese names",
       [](CreditTransferBatch& b) {
         b.transfers[0].creditor_name = "欧阳娜娜";
         b.transfers[1].creditor_name = "𠀋𠮷 (supplementary plane)";
         b.transfers[2].remittance = "理赔 C-0001 身故慰问金";
       }},
      {"XML special characters",
       [](CreditTransferBatch& b) {
         b.transfers[0].creditor_name = "Tom & Jerry <Ltd> \"quoted\" 'single'";
         b.transfers[1].remittance = "a<b&&c>d ]]> &amp;";
         b.debtor_name = "Fund & <Co>";
         b.transfers[2].end_to_end_id = "P&<>\"'";
       }},
      {"maximum lengths",
       [](CreditTransferBatch& b) {
         b.message_id = std::string(35, 'M');
         b.transfers[0].end_to_end_id = std::string(35, 'E');
         b.transfers[0].creditor_name = Repeat("王", 140);
         b.transfers[0].remittance = Repeat("&", 140);
         b.transfers[0].creditor_account = std::string(34, '9');
         b.debtor_account = std::string(34, 'A');
         b.initiating_party_name = Repeat("中", 140);
         b.debtor_agent_bic = "COMMCNSH";
       }},
      {"small amounts",
       [](CreditTransferBatch& b) {
         b.transfers[0].amount_fen = 1;   // 0.01
         b.transfers[1].amount_fen = 10;  // 0.10
         b.transfers[2].amount_fen = 100;
       }},
      {"largest amount",
       [](CreditTransferBatch& b) {
         b.transfers.resize(1);
         b.transfers[0].amount_fen = kMaxAmountFen;
       }},
      {"large amounts up to the control sum limit",
       [](CreditTransferBatch& b) {
         b.transfers[0].amount_fen = kMaxAmountFen - 2;
         b.transfers[1].amount_fen = 1;
         b.transfers[2].amount_fen = 1;
       }},
      {"date-time with offset",
       [](CreditTransferBatch& b) { b.creation_date_time = "2026-03-02T08:00:00.123+08:00"; }},
  };
  for (const ValidCase& c : cases) {
    SCOPED_TRACE(c.name);
    CreditTransferBatch batch = Batch(3);
    c.edit(batch);
    const std::string xml = Write(batch);
    EXPECT_EQ(SchemaErrors(xml), "");
    ExpectContent(xml, batch);
  }
}

TEST(WritePain001Test, SchemaCheckCatchesAnInvalidDocument) {
  std::string xml = Write(Batch(2));
  xml.replace(xml.find("<PmtMtd>TRF"), 11, "<PmtMtd>XXX");
  EXPECT_THAT(SchemaErrors(xml), HasSubstr("PmtMtd"));
  xml = Write(Batch(2));
  xml.replace(xml.find("<MsgId>"), 7, "<MsgId>" + std::string(30, 'x'));
  EXPECT_THAT(SchemaErrors(xml), HasSubstr("MsgId"));
}

TEST(WritePain001Test, WritesTheExactDocument) {
  CreditTransferBatch batch = Batch(1);
  batch.transfers[0].amount_fen = 1234567;
  batch.transfers[0].creditor_name = "李&四";
  const std::string expected = R"(<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>B-2026-03-02-0001</MsgId>
      <CreDtTm>2026-03-02T00:00:00</CreDtTm>
      <NbOfTxs>1</NbOfTxs>
      <CtrlSum>12345.67</CtrlSum>
      <InitgPty>
        <Nm>某市职工互助保障中心</Nm>
      </InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>B-2026-03-02-0001</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <NbOfTxs>1</NbOfTxs>
      <CtrlSum>12345.67</CtrlSum>
      <ReqdExctnDt>
        <Dt>2026-03-03</Dt>
      </ReqdExctnDt>
      <Dbtr>
        <Nm>六送专项保障基金</Nm>
      </Dbtr>
      <DbtrAcct>
        <Id>
          <Othr>
            <Id>110060149018000123456</Id>
          </Othr>
        </Id>
      </DbtrAcct>
      <DbtrAgt>
        <FinInstnId>
          <BICFI>COMMCNSHXXX</BICFI>
        </FinInstnId>
      </DbtrAgt>
      <ChrgBr>SLEV</ChrgBr>
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>P-0</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="CNY">12345.67</InstdAmt>
        </Amt>
        <Cdtr>
          <Nm>李&amp;四</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id>
            <Othr>
              <Id>62220202001122330</Id>
            </Othr>
          </Id>
        </CdtrAcct>
        <RmtInf>
          <Ustrd>claim C-0 BENEFIT</Ustrd>
        </RmtInf>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
)";
  EXPECT_EQ(Write(batch), expected);
}

TEST(WritePain001Test, SameBatchGivesIdenticalBytes) {
  const CreditTransferBatch batch = Batch(2000);
  const std::string first = Write(batch);
  const std::string second = Write(batch);
  EXPECT_GT(first.size(), 100000u);
  EXPECT_TRUE(first == second);
}

struct BadCase {
  std::string name;
  std::function<void(CreditTransferBatch&)> edit;
  std::string field;        // the violation's field
  std::string description;  // a fragment of its description
};

TEST(WritePain001Test, RefusesWhatCannotBeRepresentedNamingTheField) {
  const std::vector<BadCase> cases = {
      {"empty batch", [](auto& b) { b.transfers.clear(); }, "transfers", "empty batch"},
      {"empty message id", [](auto& b) { b.message_id = ""; }, "message_id", "empty"},
      {"message id 36", [](auto& b) { b.message_id = std::string(36, 'M'); }, "message_id",
       "longer than 35"},
      {"message id padded", [](auto& b) { b.message_id = "B-1 "; }, "message_id", "space"},
      {"bad date-time", [](auto& b) { b.creation_date_time = "2026-02-30T00:00:00"; },
       "creation_date_time", "ISO date-time"},
      {"date-time hour 24", [](auto& b) { b.creation_date_time = "2026-03-02T24:00:00"; },
       "creation_date_time", "ISO date-time"},
      {"blank initiating party", [](auto& b) { b.initiating_party_name = "   "; },
       "initiating_party_name", "blank"},
      {"debtor name 141", [](auto& b) { b.debtor_name = Repeat("基", 141); }, "debtor_name",
       "longer than 140"},
      {"debtor account 35", [](auto& b) { b.debtor_account = std::string(35, '1'); },
       "debtor_account", "longer than 34"},
      {"debtor account space", [](auto& b) { b.debtor_account = "1100 6014"; }, "debtor_account",
       "space"},
      {"lower-case BIC", [](auto& b) { b.debtor_agent_bic = "commcnsh"; }, "debtor_agent_bic",
       "not a BIC"},
      {"BIC of 9", [](auto& b) { b.debtor_agent_bic = "COMMCNSHX"; }, "debtor_agent_bic",
       "not a BIC"},
      {"execution year 0", [](auto& b) { b.requested_execution_date = Date::FromDays(-719528); },
       "requested_execution_date", "year"},
      {"empty end-to-end id", [](auto& b) { b.transfers[1].end_to_end_id = ""; },
       "transfers[1].end_to_end_id", "empty"},
      {"end-to-end id 36", [](auto& b) { b.transfers[2].end_to_end_id = std::string(36, 'E'); },
       "transfers[2].end_to_end_id", "longer than 35"},
      {"duplicate end-to-end id", [](auto& b) { b.transfers[2].end_to_end_id = "P-0"; },
       "transfers[2].end_to_end_id", "duplicate of transfers[0]"},
      {"zero amount", [](auto& b) { b.transfers[1].amount_fen = 0; }, "transfers[1].amount_fen",
       "positive"},
      {"negative amount", [](auto& b) { b.transfers[0].amount_fen = -5; },
       "transfers[0].amount_fen", "positive"},
      {"amount over 18 digits", [](auto& b) { b.transfers[0].amount_fen = kMaxAmountFen + 1; },
       "transfers[0].amount_fen", "18 digits"},
      {"control sum over 18 digits",
       [](auto& b) {
         b.transfers[0].amount_fen = kMaxAmountFen;
         b.transfers[1].amount_fen = 1;
       },
       "transfers[1].amount_fen", "control sum"},
      {"control sum overflows int64",
       [](auto& b) {
         b.transfers[0].amount_fen = kMaxAmountFen;
         b.transfers[1].amount_fen = kMaxAmountFen;
         b.transfers[2].amount_fen = kMaxAmountFen;
       },
       "transfers[1].amount_fen", "control sum"},
      {"invalid UTF-8 name", [](auto& b) { b.transfers[0].creditor_name = "\xe5\xbc"; },
       "transfers[0].creditor_name", "UTF-8"},
      {"overlong UTF-8", [](auto& b) { b.transfers[0].creditor_name = "\xc0\xbc"; },
       "transfers[0].creditor_name", "UTF-8"},
      {"newline in name", [](auto& b) { b.transfers[1].creditor_name = "a\nb"; },
       "transfers[1].creditor_name", "control character"},
      {"NUL in remittance", [](auto& b) { b.transfers[1].remittance = std::string("a\0b", 3); },
       "transfers[1].remittance", "control character"},
      {"C1 control in name", [](auto& b) { b.transfers[0].creditor_name = "a\xc2\x85"; },
       "transfers[0].creditor_name", "control character"},
      {"U+FFFF in name", [](auto& b) { b.transfers[0].creditor_name = "a\xef\xbf\xbf"; },
       "transfers[0].creditor_name", "non-character"},
      {"empty creditor name", [](auto& b) { b.transfers[2].creditor_name = ""; },
       "transfers[2].creditor_name", "empty"},
      {"creditor name 141 characters",
       [](auto& b) { b.transfers[0].creditor_name = Repeat("名", 141); },
       "transfers[0].creditor_name", "longer than 140"},
      {"account with letters", [](auto& b) { b.transfers[0].creditor_account = "6222x"; },
       "transfers[0].creditor_account", "digits"},
      {"account 35 digits", [](auto& b) { b.transfers[0].creditor_account = std::string(35, '6'); },
       "transfers[0].creditor_account", "digits"},
      {"empty account", [](auto& b) { b.transfers[0].creditor_account = ""; },
       "transfers[0].creditor_account", "digits"},
      {"empty remittance", [](auto& b) { b.transfers[0].remittance = ""; },
       "transfers[0].remittance", "empty"},
      {"remittance 141", [](auto& b) { b.transfers[0].remittance = std::string(141, 'r'); },
       "transfers[0].remittance", "longer than 140"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    CreditTransferBatch batch = Batch(3);
    c.edit(batch);
    std::ostringstream out;
    Status s = WritePain001(batch, out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    ASSERT_FALSE(s.violations().empty());
    EXPECT_EQ(s.violations()[0].field, c.field) << s.ToString();
    EXPECT_THAT(s.violations()[0].description, HasSubstr(c.description)) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(c.field + ": "));
    EXPECT_EQ(out.str(), "") << "nothing is written for an invalid batch";
  }
}

TEST(WritePain001Test, NamesEveryBadFieldUpToAHundred) {
  CreditTransferBatch batch = Batch(300);
  for (CreditTransfer& t : batch.transfers) t.amount_fen = 0;
  batch.transfers[7].creditor_name = "";
  Result<Pain001Totals> totals = ValidatePain001(batch);
  ASSERT_FALSE(totals.ok());
  EXPECT_EQ(totals.status().violations().size(), 100u);
  EXPECT_EQ(totals.status().violations()[8].field, "transfers[7].creditor_name");
  EXPECT_THAT(totals.status().message(), HasSubstr("(and 300 more)"));
}

TEST(WritePain001Test, FailingStreamIsDataLoss) {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  EXPECT_EQ(WritePain001(Batch(3), out).code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace claims::iso20022
