#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libs/base/money.h"
#include "libs/iso20022/iso20022.h"
#include "libs/iso20022/xml_text.h"

namespace claims::iso20022 {
namespace {

using internal::AppendEscaped;

constexpr std::string_view kAcceptedNamespaces[] = {
    "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10",
    "urn:iso:std:iso:20022:tech:xsd:pain.002.001.09",
    "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03",
};

std::string_view View(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsXmlSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsXmlSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The line of an element's start tag. libxml2 stores lines in 16 bits and, past 65535, answers
// with the line of the element's first child; when that is a text node (the indentation after
// the start tag), its line is where the text ends, so step back over its newlines.
long LineOf(const xmlNode* node) {
  const long line = xmlGetLineNo(node);
  const xmlNode* first = node->children;
  if (node->type != XML_ELEMENT_NODE || node->line != 65535 || first == nullptr ||
      first->type != XML_TEXT_NODE || first->psvi == nullptr || first->content == nullptr) {
    return line;
  }
  long newlines = 0;
  for (const xmlChar* c = first->content; *c != 0; ++c) newlines += *c == '\n';
  return line - newlines;
}

Status Invalid(long line, const std::string& path, const std::string& what) {
  return InvalidArgument("pain.002: line " + std::to_string(line) + ": " + path + ": " + what,
                         {{path, "line " + std::to_string(line) + ": " + what}});
}

// The first error libxml2 reports while parsing.
struct ParseErrors {
  bool seen = false;
  long line = 0;
  std::string path;  // the elements open where the parser stopped
  std::string message;
};

void OnXmlError(void* context, xmlErrorPtr error) {
  auto* errors = static_cast<ParseErrors*>(context);
  if (error == nullptr || error->level < XML_ERR_ERROR || errors->seen) return;
  errors->seen = true;
  errors->line = error->line;
  std::string_view message = error->message != nullptr ? error->message : "unknown error";
  while (!message.empty() && IsXmlSpace(message.back())) message.remove_suffix(1);
  errors->message = std::string(message);
  // libxml2 parses ahead of the reader's cursor: the parser's own element stack says where.
  if (error->ctxt != nullptr &&
      (error->domain == XML_FROM_PARSER || error->domain == XML_FROM_NAMESPACE)) {
    const auto* ctxt = static_cast<const xmlParserCtxt*>(error->ctxt);
    for (int i = 0; ctxt->nameTab != nullptr && i < ctxt->nameNr; ++i) {
      errors->path += "/" + std::string(View(ctxt->nameTab[i]));
    }
  }
  if (errors->path.empty()) errors->path = "/";
}

// Refuses what must never reach libxml2's DTD machinery, by reading the prolog (XML
// declaration, comments, processing instructions) up to the root element: a DOCTYPE, an
// encoding other than UTF-8, anything that is not markup. A DOCTYPE may appear nowhere else.
Status CheckProlog(std::string_view xml) {
  size_t p = 0;
  long line = 1;
  auto fail = [&](const std::string& what) { return Invalid(line, "/", what); };
  auto skip_to = [&](std::string_view end) {
    const size_t at = xml.find(end, p);
    if (at == std::string_view::npos) return false;
    for (size_t i = p; i < at; ++i) line += xml[i] == '\n';
    p = at + end.size();
    return true;
  };
  if (xml.substr(0, 3) == "\xEF\xBB\xBF") p = 3;
  if (xml.substr(p, 5) == "<?xml" && p + 5 < xml.size() && IsXmlSpace(xml[p + 5])) {
    const size_t end = xml.find("?>", p);
    if (end == std::string_view::npos) return fail("truncated XML declaration");
    std::string_view decl = xml.substr(p, end - p);
    const size_t enc = decl.find("encoding");
    if (enc != std::string_view::npos) {
      const size_t quote = decl.find_first_of("\"'", enc);
      const size_t close =
          quote == std::string_view::npos ? quote : decl.find(decl[quote], quote + 1);
      if (close == std::string_view::npos) return fail("malformed encoding declaration");
      std::string name(decl.substr(quote + 1, close - quote - 1));
      for (char& c : name) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
      if (name != "UTF-8" && name != "UTF8") {
        return fail("encoding " + name + " is not supported (UTF-8 only)");
      }
    }
    skip_to("?>");
  }
  while (true) {
    while (p < xml.size() && IsXmlSpace(xml[p])) line += xml[p++] == '\n';
    if (p >= xml.size()) return fail("no root element");
    std::string_view rest = xml.substr(p);
    if (rest.substr(0, 4) == "<!--") {
      if (!skip_to("-->")) return fail("truncated comment");
    } else if (rest.substr(0, 2) == "<?") {
      if (!skip_to("?>")) return fail("truncated processing instruction");
    } else if (rest.substr(0, 2) == "<!") {
      return fail("DOCTYPE not allowed (no DTD, no entities)");
    } else if (rest.front() == '<') {
      return Status::Ok();
    } else {
      return fail("not an XML document (UTF-8 expected)");
    }
  }
}

// Walks a pain.002 with libxml2's streaming reader. Small elements (GrpHdr, each TxInfAndSts)
// are expanded into a subtree that lives until the reader moves on.
class Pain002Parser {
 public:
  Pain002Parser(xmlTextReaderPtr reader, ParseErrors* errors) : r_(reader), errors_(errors) {}

  Result<StatusReport> Parse() {
    // The root element.
    do {
      if (Status s = Step(); !s.ok()) return s;
    } while (!eof_ && xmlTextReaderNodeType(r_) != XML_READER_TYPE_ELEMENT);
    if (eof_) return Invalid(Line(), "/", "no root element");
    const std::string_view name = View(xmlTextReaderConstLocalName(r_));
    const std::string_view ns = View(xmlTextReaderConstNamespaceUri(r_));
    if (name != "Document") {
      return Invalid(Line(), "/" + std::string(name), "root element is not Document");
    }
    for (std::string_view accepted : kAcceptedNamespaces) {
      if (ns == accepted) ns_ = std::string(ns);
    }
    if (ns_.empty()) {
      return Invalid(Line(), "/Document",
                     "namespace '" + std::string(ns) +
                         "' is not a pain.002 namespace (accepted: pain.002.001.10, "
                         ".001.09, .001.03)");
    }
    const long root_line = Line();
    bool seen_report = false;
    Status s = Children("/Document", [&](std::string_view child, const std::string& path) {
      if (child != "CstmrPmtStsRpt") return Skip();
      if (seen_report) return Invalid(Line(), path, "repeated");
      seen_report = true;
      return ParseReport(path);
    });
    if (!s.ok()) return s;
    if (!seen_report) return Invalid(root_line, "/Document/CstmrPmtStsRpt", "missing");
    // Whatever follows the root must still be well-formed.
    while (!eof_) {
      if (Status s = Step(); !s.ok()) return s;
    }
    if (errors_->seen) return Malformed();
    return std::move(report_);
  }

 private:
  using ChildFn = std::function<Status(std::string_view name, const std::string& path)>;

  long Line() const {
    xmlNodePtr node = xmlTextReaderCurrentNode(r_);
    return node != nullptr ? LineOf(node) : xmlTextReaderGetParserLineNumber(r_);
  }

  Status Malformed() const {
    if (errors_->seen) {
      return Invalid(errors_->line, errors_->path, "malformed XML: " + errors_->message);
    }
    return Invalid(xmlTextReaderGetParserLineNumber(r_), path_.empty() ? "/" : path_,
                   "malformed XML: unexpected end");
  }

  Status AfterMove(int rc) {
    if (rc < 0 || errors_->seen) return Malformed();
    eof_ = rc == 0;
    if (eof_) return Status::Ok();
    const int type = xmlTextReaderNodeType(r_);
    if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE ||
        type == XML_READER_TYPE_ENTITY) {
      return Invalid(Line(), path_.empty() ? "/" : path_, "DTDs and entities are not allowed");
    }
    return Status::Ok();
  }
  // To the next node in document order.
  Status Step() { return AfterMove(xmlTextReaderRead(r_)); }
  // Past the current element's subtree.
  Status Skip() { return AfterMove(xmlTextReaderNext(r_)); }

  // On an element's start: calls `on_child` for each child element in this document's
  // namespace (which must consume it: Skip, Children or Expand), skips every other node, and
  // leaves the reader past the element's end. `path` names the element.
  Status Children(const std::string& path, const ChildFn& on_child) {
    const int depth = xmlTextReaderDepth(r_);
    const long line = Line();
    if (xmlTextReaderIsEmptyElement(r_)) return Step();
    if (Status s = Step(); !s.ok()) return s;
    std::map<std::string, int, std::less<>> seen;
    while (true) {
      if (eof_) {
        return Invalid(line, path, "malformed XML: unexpected end");
      }
      const int type = xmlTextReaderNodeType(r_);
      const int d = xmlTextReaderDepth(r_);
      if (type == XML_READER_TYPE_END_ELEMENT && d == depth) return Step();
      if (type == XML_READER_TYPE_ELEMENT && d == depth + 1) {
        const std::string_view name = View(xmlTextReaderConstLocalName(r_));
        if (View(xmlTextReaderConstNamespaceUri(r_)) != ns_) {
          if (Status s = Skip(); !s.ok()) return s;
          continue;
        }
        const int index = ++seen[std::string(name)];
        const std::string child_path =
            path + "/" + std::string(name) + "[" + std::to_string(index) + "]";
        path_ = child_path;
        if (Status s = on_child(name, child_path); !s.ok()) return s;
        path_ = path;
        continue;
      }
      if (Status s = Step(); !s.ok()) return s;
    }
  }

  // The current element as a subtree, valid until the reader moves.
  Result<const xmlNode*> Expand() {
    xmlNodePtr node = xmlTextReaderExpand(r_);
    if (node == nullptr || errors_->seen) return Malformed();
    return static_cast<const xmlNode*>(node);
  }

  // The first child element of `parent` named `name` in this document's namespace.
  const xmlNode* Child(const xmlNode* parent, std::string_view name) const {
    for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
      if (c->type == XML_ELEMENT_NODE && View(c->name) == name && c->ns != nullptr &&
          View(c->ns->href) == ns_) {
        return c;
      }
    }
    return nullptr;
  }

  // The text content of a leaf element, trimmed of XML whitespace.
  Result<std::string> Text(const xmlNode* node, const std::string& path) const {
    std::string text;
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
        text += View(c->content);
      } else if (c->type == XML_ELEMENT_NODE) {
        return Invalid(LineOf(c), path, "element content where text is expected");
      } else if (c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE) {
        return Invalid(LineOf(c), path, "unexpected node (entities are not allowed)");
      }
    }
    return std::string(Trim(text));
  }

  // A required Max35Text identifier: `parent`/`name`.
  Result<std::string> RequiredId(const xmlNode* parent, std::string_view name,
                                 const std::string& parent_path) const {
    const std::string path = parent_path + "/" + std::string(name);
    const xmlNode* node = Child(parent, name);
    if (node == nullptr) return Invalid(LineOf(parent), path, "missing");
    Result<std::string> text = Text(node, path);
    if (!text.ok()) return text;
    if (auto why = internal::CheckText(*text, 35)) {
      return Invalid(LineOf(node), path, *why);
    }
    return text;
  }

  // An optional status or reason code: 1-4 letters or digits; "" when absent.
  Result<std::string> Code(const xmlNode* parent, std::string_view name,
                           const std::string& parent_path, bool required) const {
    const std::string path = parent_path + "/" + std::string(name);
    const xmlNode* node = Child(parent, name);
    if (node == nullptr) {
      if (required) return Invalid(LineOf(parent), path, "missing");
      return std::string();
    }
    Result<std::string> text = Text(node, path);
    if (!text.ok()) return text;
    bool ok = !text->empty() && text->size() <= 4;
    for (char c : *text) ok = ok && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
    if (!ok) return Invalid(LineOf(node), path, "'" + *text + "' is not a 1-4 character code");
    return text;
  }

  // OrgnlTxRef/Amt/InstdAmt in fen: CNY, digits with at most two decimals, at most 18 digits.
  Result<int64_t> Amount(const xmlNode* node, const std::string& path) const {
    xmlChar* ccy = xmlGetNoNsProp(node, reinterpret_cast<const xmlChar*>("Ccy"));
    const std::string currency(View(ccy));
    xmlFree(ccy);
    if (currency != "CNY") {
      return Invalid(LineOf(node), path,
                     currency.empty() ? "no Ccy" : "currency " + currency + " (only CNY)");
    }
    Result<std::string> text = Text(node, path);
    if (!text.ok()) return text.status();
    const std::string_view s = *text;
    auto bad = [&](const std::string& why) {
      return Invalid(LineOf(node), path, "amount '" + std::string(s) + "': " + why);
    };
    const size_t dot = s.find('.');
    const std::string_view whole = s.substr(0, dot);
    const std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
    if (whole.empty() && fraction.empty()) return bad("not a decimal number");
    for (std::string_view part : {whole, fraction}) {
      for (char c : part) {
        if (c < '0' || c > '9') return bad("not a decimal number");
      }
    }
    if (fraction.size() > 2) return bad("more than two decimals");
    const size_t first = whole.find_first_not_of('0');
    const std::string_view significant =
        first == std::string_view::npos ? std::string_view() : whole.substr(first);
    if (significant.size() > 16) return bad("more than 18 digits");
    int64_t fen = 0;
    for (char c : significant) fen = fen * 10 + (c - '0');
    fen *= 100;
    if (!fraction.empty()) fen += (fraction[0] - '0') * 10;
    if (fraction.size() == 2) fen += fraction[1] - '0';
    if (fen == 0) return bad("zero (we never send one)");
    return fen;
  }

  Status ParseReport(const std::string& path) {
    const long line = Line();
    bool seen_header = false;
    bool seen_group = false;
    Status s = Children(path, [&](std::string_view name, const std::string& child_path) {
      if (name == "GrpHdr" || name == "OrgnlGrpInfAndSts") {
        bool& seen = name == "GrpHdr" ? seen_header : seen_group;
        if (seen) return Invalid(Line(), child_path, "repeated");
        seen = true;
        Result<const xmlNode*> node = Expand();
        if (!node.ok()) return node.status();
        Status parsed =
            name == "GrpHdr" ? ParseHeader(*node, child_path) : ParseGroupStatus(*node, child_path);
        if (!parsed.ok()) return parsed;
        return Skip();
      }
      if (name == "OrgnlPmtInfAndSts") {
        return Children(child_path, [&](std::string_view tx, const std::string& tx_path) {
          if (tx != "TxInfAndSts") return Skip();
          Result<const xmlNode*> node = Expand();
          if (!node.ok()) return node.status();
          if (Status parsed = ParseTransaction(*node, tx_path); !parsed.ok()) return parsed;
          return Skip();
        });
      }
      return Skip();
    });
    if (!s.ok()) return s;
    if (!seen_header) return Invalid(line, path + "/GrpHdr", "missing");
    if (!seen_group) return Invalid(line, path + "/OrgnlGrpInfAndSts", "missing");
    if (report_.transactions.empty() && report_.group_status.empty()) {
      return Invalid(line, path, "empty report: no TxInfAndSts and no GrpSts");
    }
    return Status::Ok();
  }

  Status ParseHeader(const xmlNode* node, const std::string& path) {
    Result<std::string> id = RequiredId(node, "MsgId", path);
    if (!id.ok()) return id.status();
    report_.message_id = std::move(*id);
    return Status::Ok();
  }

  Status ParseGroupStatus(const xmlNode* node, const std::string& path) {
    Result<std::string> id = RequiredId(node, "OrgnlMsgId", path);
    if (!id.ok()) return id.status();
    Result<std::string> status = Code(node, "GrpSts", path, /*required=*/false);
    if (!status.ok()) return status.status();
    report_.original_message_id = std::move(*id);
    report_.group_status = std::move(*status);
    return Status::Ok();
  }

  Status ParseTransaction(const xmlNode* node, const std::string& path) {
    TransactionStatus tx;
    Result<std::string> id = RequiredId(node, "OrgnlEndToEndId", path);
    if (!id.ok()) return id.status();
    tx.original_end_to_end_id = std::move(*id);
    Result<std::string> status = Code(node, "TxSts", path, /*required=*/true);
    if (!status.ok()) return status.status();
    tx.status = std::move(*status);

    int reason_index = 0;
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE || View(c->name) != "StsRsnInf" || c->ns == nullptr ||
          View(c->ns->href) != ns_) {
        continue;
      }
      const std::string reason_path = path + "/StsRsnInf[" + std::to_string(++reason_index) + "]";
      if (const xmlNode* rsn = Child(c, "Rsn"); rsn != nullptr && tx.reason_code.empty()) {
        Result<std::string> code = Code(rsn, "Cd", reason_path + "/Rsn", /*required=*/false);
        if (!code.ok()) return code.status();
        tx.reason_code = std::move(*code);
        if (const xmlNode* prtry = Child(rsn, "Prtry");
            prtry != nullptr && tx.reason_code.empty()) {
          const std::string prtry_path = reason_path + "/Rsn/Prtry";
          Result<std::string> text = Text(prtry, prtry_path);
          if (!text.ok()) return text.status();
          if (auto why = internal::CheckText(*text, 35)) {
            return Invalid(LineOf(prtry), prtry_path, *why);
          }
          tx.reason_code = std::move(*text);
        }
      }
      for (const xmlNode* a = c->children; a != nullptr; a = a->next) {
        if (a->type != XML_ELEMENT_NODE || View(a->name) != "AddtlInf" || a->ns == nullptr ||
            View(a->ns->href) != ns_) {
          continue;
        }
        Result<std::string> text = Text(a, reason_path + "/AddtlInf");
        if (!text.ok()) return text.status();
        if (text->empty()) continue;
        if (!tx.reason_text.empty()) tx.reason_text += ' ';
        tx.reason_text += *text;
      }
    }

    if (const xmlNode* ref = Child(node, "OrgnlTxRef"); ref != nullptr) {
      if (const xmlNode* amt = Child(ref, "Amt"); amt != nullptr) {
        const std::string amt_path = path + "/OrgnlTxRef/Amt";
        const xmlNode* instd = Child(amt, "InstdAmt");
        if (instd == nullptr) {
          return Invalid(LineOf(amt), amt_path + "/InstdAmt",
                         "missing (only InstdAmt is supported)");
        }
        Result<int64_t> fen = Amount(instd, amt_path + "/InstdAmt");
        if (!fen.ok()) return fen.status();
        tx.original_amount_fen = *fen;
      }
    }

    const long line = LineOf(node);
    auto [it, inserted] = first_seen_.emplace(tx.original_end_to_end_id, line);
    if (!inserted) {
      return Invalid(line, path + "/OrgnlEndToEndId",
                     "duplicate " + tx.original_end_to_end_id + " (first at line " +
                         std::to_string(it->second) + ")");
    }
    report_.transactions.push_back(std::move(tx));
    return Status::Ok();
  }

  xmlTextReaderPtr r_;
  ParseErrors* errors_;
  std::string ns_;
  std::string path_;  // the element being read, for an error libxml2 does not explain
  bool eof_ = false;
  StatusReport report_;
  std::map<std::string, long, std::less<>> first_seen_;  // end-to-end id -> line
};

struct ReaderCloser {
  void operator()(xmlTextReaderPtr r) const { xmlFreeTextReader(r); }
};

void Leaf(std::string& out, int indent, std::string_view name, std::string_view text) {
  out.append(static_cast<size_t>(indent) * 2, ' ');
  out += '<';
  out += name;
  out += '>';
  AppendEscaped(out, text);
  out += "</";
  out += name;
  out += ">\n";
}
void Open(std::string& out, int indent, std::string_view name) {
  out.append(static_cast<size_t>(indent) * 2, ' ');
  out += '<';
  out += name;
  out += ">\n";
}
void Close(std::string& out, int indent, std::string_view name) {
  out.append(static_cast<size_t>(indent) * 2, ' ');
  out += "</";
  out += name;
  out += ">\n";
}

}  // namespace

Result<StatusReport> ParsePain002(std::string_view xml) {
  if (xml.size() > static_cast<size_t>(INT_MAX)) {
    return InvalidArgument("pain.002: larger than 2 GiB", {{"/", "too large"}});
  }
  if (Status s = CheckProlog(xml); !s.ok()) return s;
  static const bool initialized = (xmlInitParser(), true);
  (void)initialized;
  // No NOENT (entities stay unexpanded; none can be declared anyway), no DTDLOAD/DTDATTR/
  // DTDVALID, no XINCLUDE, no HUGE (libxml2's size and depth limits stay on). BIG_LINES: true
  // line numbers past 65535.
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                      XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES;
  std::unique_ptr<xmlTextReader, ReaderCloser> reader(
      xmlReaderForMemory(xml.data(), static_cast<int>(xml.size()), nullptr, "UTF-8", options));
  if (reader == nullptr) return Internal("pain.002: cannot create an XML reader");
  ParseErrors errors;
  xmlTextReaderSetStructuredErrorHandler(reader.get(), OnXmlError, &errors);
  return Pain002Parser(reader.get(), &errors).Parse();
}

std::string WritePain002(const StatusReport& report, std::string_view creation_date_time) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"";
  out += kPain002Namespace;
  out += "\">\n";
  Open(out, 1, "CstmrPmtStsRpt");
  Open(out, 2, "GrpHdr");
  Leaf(out, 3, "MsgId", report.message_id);
  Leaf(out, 3, "CreDtTm", creation_date_time);
  Close(out, 2, "GrpHdr");
  Open(out, 2, "OrgnlGrpInfAndSts");
  Leaf(out, 3, "OrgnlMsgId", report.original_message_id);
  Leaf(out, 3, "OrgnlMsgNmId", "pain.001.001.09");
  if (!report.group_status.empty()) Leaf(out, 3, "GrpSts", report.group_status);
  Close(out, 2, "OrgnlGrpInfAndSts");
  if (!report.transactions.empty()) {
    Open(out, 2, "OrgnlPmtInfAndSts");
    Leaf(out, 3, "OrgnlPmtInfId", report.original_message_id);
    for (const TransactionStatus& tx : report.transactions) {
      Open(out, 3, "TxInfAndSts");
      Leaf(out, 4, "OrgnlEndToEndId", tx.original_end_to_end_id);
      Leaf(out, 4, "TxSts", tx.status);
      if (!tx.reason_code.empty() || !tx.reason_text.empty()) {
        Open(out, 4, "StsRsnInf");
        if (!tx.reason_code.empty()) {
          Open(out, 5, "Rsn");
          Leaf(out, 6, "Cd", tx.reason_code);
          Close(out, 5, "Rsn");
        }
        if (!tx.reason_text.empty()) Leaf(out, 5, "AddtlInf", tx.reason_text);
        Close(out, 4, "StsRsnInf");
      }
      if (tx.original_amount_fen.has_value()) {
        Open(out, 4, "OrgnlTxRef");
        Open(out, 5, "Amt");
        out.append(12, ' ');
        out += "<InstdAmt Ccy=\"CNY\">" + FormatYuan(*tx.original_amount_fen) + "</InstdAmt>\n";
        Close(out, 5, "Amt");
        Close(out, 4, "OrgnlTxRef");
      }
      Close(out, 3, "TxInfAndSts");
    }
    Close(out, 2, "OrgnlPmtInfAndSts");
  }
  Close(out, 1, "CstmrPmtStsRpt");
  out += "</Document>\n";
  return out;
}

StatusClass ClassifyStatus(std::string_view status) {
  static constexpr std::string_view kSettled[] = {"ACSC", "ACCC"};
  static constexpr std::string_view kFailed[] = {"RJCT", "CANC"};
  static constexpr std::string_view kPending[] = {"ACCP", "ACTC", "ACSP", "ACWC", "ACWP",
                                                  "PDNG", "RCVD", "PRES", "BLCK"};
  for (std::string_view s : kSettled) {
    if (status == s) return StatusClass::kSettled;
  }
  for (std::string_view s : kFailed) {
    if (status == s) return StatusClass::kFailed;
  }
  for (std::string_view s : kPending) {
    if (status == s) return StatusClass::kPending;
  }
  return StatusClass::kUnknown;
}

}  // namespace claims::iso20022
