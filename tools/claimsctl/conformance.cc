#include "tools/claimsctl/conformance.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "libs/domain/fold.h"

namespace claims::conformance {
namespace {

using nlohmann::json;

// Reads the fields of one JSON object, collecting every problem instead of stopping at the
// first; remembers which keys it read so that the rest can be reported as unknown.
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string path, std::vector<FieldViolation>& errors)
      : object_(object), path_(std::move(path)), errors_(errors) {}

  // Absent or null: "".
  std::string String(const char* key) {
    const json* v = Get(key);
    if (v == nullptr) return "";
    if (!v->is_string()) {
      Error(key, "must be a string");
      return "";
    }
    return v->get<std::string>();
  }
  // Absent or null: 0. Must be a JSON integer.
  int64_t Integer(const char* key) {
    const json* v = Get(key);
    if (v == nullptr) return 0;
    if (!v->is_number_integer()) {
      Error(key, "must be an integer");
      return 0;
    }
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      Error(key, "is out of range");
      return 0;
    }
    return v->get<int64_t>();
  }
  // Must be present and within [low, high].
  int64_t IntegerIn(const char* key, int64_t low, int64_t high) {
    if (Get(key) == nullptr) {
      Error(key, "missing");
      return low;
    }
    const size_t errors_before = errors_.size();
    const int64_t v = Integer(key);
    if (errors_.size() == errors_before && (v < low || v > high)) {
      Error(key, "must be " + std::to_string(low) + "-" + std::to_string(high));
    }
    return v;
  }
  Date RequiredDate(const char* key) {
    const std::string text = String(key);
    if (auto d = Date::Parse(text)) return *d;
    if (Get(key) == nullptr || Get(key)->is_string()) {
      Error(key, text.empty() ? "missing date" : "'" + text + "' is not a YYYY-MM-DD date");
    }
    return Date();
  }
  std::optional<Date> OptionalDate(const char* key) {
    const std::string text = String(key);
    if (text.empty()) return std::nullopt;
    if (auto d = Date::Parse(text)) return d;
    Error(key, "'" + text + "' is not a YYYY-MM-DD date");
    return std::nullopt;
  }
  std::vector<std::string> Strings(const char* key) {
    std::vector<std::string> out;
    const json* v = Get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      Error(key, "must be an array of strings");
      return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) {
        Error(std::string(key) + "[" + std::to_string(i) + "]", "must be a string");
        continue;
      }
      out.push_back((*v)[i].get<std::string>());
    }
    return out;
  }
  template <typename E>
  E Enum(const char* key, std::optional<E> (*parse)(std::string_view), const char* what) {
    const std::string text = String(key);
    if (auto e = parse(text)) return *e;
    if (Get(key) == nullptr || Get(key)->is_string()) {
      Error(key, text.empty() ? std::string("missing ") + what
                              : std::string("unknown ") + what + " '" + text + "'");
    }
    return E{};
  }
  const json* Get(const char* key) {
    read_.insert(key);
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  void Error(const std::string& key, std::string what) {
    errors_.push_back({path_ + "." + key, std::move(what)});
  }
  void ReportUnknownKeys(std::vector<std::string>* warnings) const {
    if (warnings == nullptr) return;
    for (const auto& [key, value] : object_.items()) {
      if (read_.count(key) == 0) warnings->push_back(path_ + "." + key + ": unknown key ignored");
    }
  }

 private:
  const json& object_;
  std::string path_;
  std::vector<FieldViolation>& errors_;
  std::set<std::string> read_;
};

domain::Input ParseEvent(const json& event, const std::string& path,
                         std::vector<FieldViolation>& errors, std::vector<std::string>* warnings) {
  if (!event.is_object() || event.size() != 1 || !event.begin()->is_object()) {
    errors.push_back({path, "must be an object with exactly one key naming the event"});
    return domain::TerminateInput{};
  }
  const std::string kind = event.begin().key();
  const json& body = event.begin().value();
  ObjectReader r(body, path + "." + kind, errors);
  domain::Input input;
  if (kind == "enroll") {
    domain::EnrollInput in;
    in.member = r.String("member");
    in.gender = r.Enum("gender", &domain::ParseGender, "gender");
    in.birth_date = r.RequiredDate("birth_date");
    in.occupation = r.Enum("occupation", &domain::ParseOccupation, "occupation");
    in.plan_year = static_cast<int>(r.IntegerIn("plan_year", 1, 9999));
    in.start_date = r.RequiredDate("start_date");
    input = std::move(in);
  } else if (kind == "terminate") {
    domain::TerminateInput in;
    in.member = r.String("member");
    in.date = r.RequiredDate("date");
    input = std::move(in);
  } else if (kind == "claim") {
    domain::ClaimInput in;
    in.claim = r.String("claim");
    in.member = r.String("member");
    in.coverage = r.Enum("coverage", &domain::ParseCoverage, "coverage");
    in.incident_date = r.RequiredDate("incident_date");
    in.date = r.RequiredDate("date");
    in.amount = r.Integer("amount_fen");
    in.condition_code = r.String("condition_code");
    in.cause = r.String("cause");
    in.child_id = r.String("child_id");
    in.child_birth_date = r.OptionalDate("child_birth_date");
    in.documents = r.Strings("documents");
    input = std::move(in);
  } else if (kind == "review") {
    domain::ReviewInput in;
    in.claim = r.String("claim");
    in.date = r.RequiredDate("date");
    in.action = r.Enum("action", &domain::ParseReviewAction, "action");
    input = std::move(in);
  } else if (kind == "appeal") {
    domain::AppealInput in;
    in.claim = r.String("claim");
    in.date = r.RequiredDate("date");
    input = std::move(in);
  } else {
    errors.push_back({path, "unknown event '" + kind + "'"});
    return domain::TerminateInput{};
  }
  r.ReportUnknownKeys(warnings);
  return input;
}

ClaimState ParseExpectation(const json& e, const std::string& path,
                            std::vector<FieldViolation>& errors,
                            std::vector<std::string>* warnings) {
  ClaimState s;
  if (!e.is_object()) {
    errors.push_back({path, "must be an object"});
    return s;
  }
  ObjectReader r(e, path, errors);
  s.claim = r.String("claim");
  s.outcome = r.Enum("outcome", &domain::ParseOutcome, "outcome");
  s.payable = r.Integer("payable_fen");
  s.condolence = r.Integer("condolence_fen");
  const std::vector<std::string> reasons = r.Strings("reasons");
  for (size_t i = 0; i < reasons.size(); ++i) {
    if (auto reason = domain::ParseReason(reasons[i])) {
      s.reasons.push_back(*reason);
    } else {
      r.Error("reasons[" + std::to_string(i) + "]", "unknown reason '" + reasons[i] + "'");
    }
  }
  r.ReportUnknownKeys(warnings);
  return s;
}

std::string ReasonsText(const std::vector<domain::Reason>& reasons) {
  std::string out = "[";
  for (size_t i = 0; i < reasons.size(); ++i) {
    if (i > 0) out += ", ";
    out += domain::Name(reasons[i]);
  }
  return out + "]";
}

}  // namespace

std::string Describe(const ClaimState& s) {
  return std::string(domain::Name(s.outcome)) + " payable " + std::to_string(s.payable) +
         " condolence " + std::to_string(s.condolence) + " reasons " + ReasonsText(s.reasons);
}

Result<Case> ParseCase(const std::string& line, const std::string& source,
                       std::vector<std::string>* warnings) {
  json doc;
  try {
    doc = json::parse(line);
  } catch (const json::parse_error& e) {
    return InvalidArgument(source + ": not valid JSON", {{"(line)", e.what()}});
  }
  std::vector<FieldViolation> errors;
  Case c;
  c.source = source;
  if (!doc.is_object()) return InvalidArgument(source + ": a case must be a JSON object");
  ObjectReader r(doc, "case", errors);
  c.id = r.String("id");
  c.description = r.String("description");
  const json* events = r.Get("events");
  if (events == nullptr || !events->is_array()) {
    r.Error("events", "must be an array");
  } else {
    for (size_t i = 0; i < events->size(); ++i) {
      c.events.push_back(
          ParseEvent((*events)[i], "events[" + std::to_string(i) + "]", errors, warnings));
    }
  }
  const json* expect = r.Get("expect");
  if (expect == nullptr || !expect->is_array()) {
    r.Error("expect", "must be an array");
  } else {
    for (size_t i = 0; i < expect->size(); ++i) {
      c.expect.push_back(
          ParseExpectation((*expect)[i], "expect[" + std::to_string(i) + "]", errors, warnings));
    }
  }
  r.ReportUnknownKeys(warnings);
  // The reader prefixes the top level with "case."; field paths read better without it.
  for (FieldViolation& v : errors) {
    if (v.field.rfind("case.", 0) == 0) v.field = v.field.substr(5);
  }
  if (!errors.empty()) {
    return InvalidArgument(source + ": malformed case" + (c.id.empty() ? "" : " " + c.id),
                           std::move(errors));
  }
  return c;
}

CaseRun RunCase(const Case& c, const domain::Plan& plan) {
  CaseRun run;
  domain::Fold fold;
  std::vector<domain::ClaimId> order;
  std::set<domain::ClaimId> seen;
  for (const domain::Input& event : c.events) {
    const domain::Output out = fold.Apply(event, plan);
    if (const auto* d = std::get_if<domain::Decision>(&out.body)) {
      if (seen.insert(d->claim).second) order.push_back(d->claim);
      run.decisions.push_back(*d);
    } else if (const auto* r = std::get_if<domain::InputRejection>(&out.body)) {
      run.rejections.push_back(*r);
    }
  }
  for (const domain::ClaimId& id : order) {
    const domain::MemberId* owner = fold.OwnerOf(id);
    const domain::ClaimRecord* record = fold.Member(*owner)->FindClaim(id);
    run.actual.push_back(
        ClaimState{id, record->outcome, record->payable, record->condolence, record->reasons});
  }
  const size_t n = std::max(run.actual.size(), c.expect.size());
  for (size_t i = 0; i < n; ++i) {
    if (i >= run.actual.size()) {
      run.mismatches.push_back("expected " + c.expect[i].claim + ": " + Describe(c.expect[i]) +
                               "; actual: no such claim");
    } else if (i >= c.expect.size()) {
      run.mismatches.push_back("unexpected claim " + run.actual[i].claim + ": " +
                               Describe(run.actual[i]));
    } else if (!(run.actual[i] == c.expect[i])) {
      run.mismatches.push_back(c.expect[i].claim + ": expected " + Describe(c.expect[i]) +
                               (run.actual[i].claim == c.expect[i].claim
                                    ? ""
                                    : "; actual claim " + run.actual[i].claim) +
                               "; actual " + Describe(run.actual[i]));
    }
  }
  return run;
}

namespace {

void PrintDecisions(const CaseRun& run, std::ostream& out) {
  for (const domain::Decision& d : run.decisions) {
    out << "    " << d.claim << " rev " << d.revision << " (" << domain::Name(d.cause) << " "
        << d.decided_on.ToString() << "): " << domain::Name(d.outcome) << " payable " << d.payable
        << " condolence " << d.condolence << " reasons " << ReasonsText(d.reasons) << "\n";
    for (const std::string& line : d.trace) out << "      | " << line << "\n";
  }
  for (const domain::InputRejection& r : run.rejections) {
    out << "    rejected input" << (r.claim.empty() ? "" : " for " + r.claim) << ": "
        << domain::Name(r.code) << " (" << r.detail << ")\n";
  }
}

}  // namespace

Summary RunFiles(const std::vector<std::string>& files, const domain::Plan& plan,
                 const Options& options, std::ostream& out) {
  Summary summary;
  for (const std::string& file : files) {
    std::ifstream in(file);
    if (!in) {
      out << "ERROR " << file << ": cannot read the file\n";
      ++summary.failed;
      continue;
    }
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string source = file + ":" + std::to_string(line_no);
      std::vector<std::string> warnings;
      Result<Case> c = ParseCase(line, source, &warnings);
      for (const std::string& w : warnings) out << "WARN " << source << ": " << w << "\n";
      if (!c.ok()) {
        ++summary.failed;
        out << "ERROR " << c.status().message() << "\n";
        for (const FieldViolation& v : c.status().violations()) {
          out << "  " << v.field << ": " << v.description << "\n";
        }
        continue;
      }
      const CaseRun run = RunCase(*c, plan);
      if (run.mismatches.empty()) {
        ++summary.passed;
        if (options.print_decisions) {
          out << "PASS " << c->id << " (" << source << ")\n";
          PrintDecisions(run, out);
        }
        continue;
      }
      ++summary.failed;
      out << "FAIL " << c->id << " (" << source << ")\n";
      for (const std::string& m : run.mismatches) out << "  " << m << "\n";
      PrintDecisions(run, out);
    }
  }
  out << summary.passed << " passed, " << summary.failed << " failed\n";
  return summary;
}

}  // namespace claims::conformance
