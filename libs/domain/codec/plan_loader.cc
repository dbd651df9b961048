#include "libs/domain/codec/plan_loader.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <fstream>
#include <map>
#include <sstream>

#include "libs/crypto/sha256.h"
#include "libs/domain/codec/enums.h"
#include "mutualaid/plan/v1/plan.pb.h"

namespace claims::codec {
namespace {

namespace pb = ::mutualaid::plan::v1;
using google::protobuf::TextFormat;

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors.push_back(
        {"line " + std::to_string(line + 1) + ", column " + std::to_string(column + 1), message});
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  std::vector<FieldViolation> errors;
};

// Finds the line of a field path such as "coverages[3].limit.amount_fen" in the parsed text:
// the line of the deepest element of the path that the file contains (1-based), or 0.
int LineOf(const std::string& path, const google::protobuf::Message& root,
           const TextFormat::ParseInfoTree& tree) {
  const google::protobuf::Descriptor* desc = root.GetDescriptor();
  const TextFormat::ParseInfoTree* node = &tree;
  int line = 0;
  std::stringstream parts(path);
  std::string part;
  while (desc != nullptr && node != nullptr && std::getline(parts, part, '.')) {
    int index = -1;
    const size_t bracket = part.find('[');
    if (bracket != std::string::npos) {
      index = std::stoi(part.substr(bracket + 1));
      part = part.substr(0, bracket);
    }
    const google::protobuf::FieldDescriptor* field = desc->FindFieldByName(part);
    if (field == nullptr) break;
    if (field->is_repeated() && index < 0) index = 0;
    if (!field->is_repeated()) index = -1;
    const auto loc = node->GetLocation(field, index);
    if (loc.line < 0) break;
    line = loc.line + 1;
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) break;
    node = node->GetTreeForNested(field, index);
    desc = field->message_type();
  }
  return line;
}

domain::LimitScope ScopeFromProto(pb::Limit::Scope s) {
  switch (s) {
    case pb::Limit::ONCE_PER_PLAN_YEAR:
      return domain::LimitScope::kOncePerPlanYear;
    case pb::Limit::ONCE_EVER:
      return domain::LimitScope::kOnceEver;
    case pb::Limit::AMOUNT_PER_MEMBER_PLAN_YEAR:
      return domain::LimitScope::kAmountPerMemberPlanYear;
    case pb::Limit::AMOUNT_PER_CHILD_PLAN_YEAR:
      return domain::LimitScope::kAmountPerChildPlanYear;
    default:
      return domain::LimitScope::kUnspecified;
  }
}

}  // namespace

Result<domain::Plan> ParsePlan(std::string_view text, const std::string& source) {
  pb::Plan proto;
  TextFormat::Parser parser;
  CollectErrors errors;
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &proto)) {
    for (auto& e : errors.errors) e.field = source + ": " + e.field;
    if (errors.errors.empty()) errors.errors.push_back({source, "not a valid plan text"});
    return InvalidArgument("cannot parse plan file " + source, std::move(errors.errors));
  }

  domain::Plan plan;
  plan.id = proto.plan_id();
  plan.name = proto.name();
  plan.currency = proto.currency();
  plan.sha256 = crypto::Sha256Hex(text);
  plan.renewal_deadline_month = proto.enrollment().renewal_deadline_month();
  plan.renewal_deadline_day = proto.enrollment().renewal_deadline_day();
  plan.late_filing_days = proto.filing().late_filing_days();
  plan.appeal_window_days = proto.filing().appeal_window_days();
  plan.high_value = proto.referral().high_value_fen();
  plan.frequent_claims_threshold = proto.referral().frequent_claims_threshold();
  plan.condolence_amount = proto.condolence().amount_fen();
  plan.condolence_min_payable = proto.condolence().min_payable_fen();
  for (int c : proto.condolence().coverages()) {
    plan.condolence_coverages.push_back(CoverageFromProto(c));
  }

  std::vector<FieldViolation> mapping;
  std::map<std::string, int> index_of;  // coverage name -> index in the file
  for (int i = 0; i < proto.coverages_size(); ++i) {
    const pb::CoverageRule& in = proto.coverages(i);
    const std::string at = "coverages[" + std::to_string(i) + "]";
    const domain::Coverage coverage = CoverageFromProto(in.coverage());
    if (coverage == domain::Coverage::kUnspecified) {
      mapping.push_back({at + ".coverage", "must name one of the six coverages"});
      continue;
    }
    auto& slot = plan.rules[static_cast<size_t>(coverage)];
    if (slot.has_value()) {
      mapping.push_back({at + ".coverage", "duplicate rule for " + std::string(Name(coverage))});
      continue;
    }
    index_of[std::string(Name(coverage))] = i;
    domain::CoverageRule r;
    r.coverage = coverage;
    r.name = in.name();
    if (in.has_fixed_fen()) r.fixed = in.fixed_fen();
    if (in.has_formula()) {
      r.formula = domain::Formula{in.formula().deductible_fen(), in.formula().ratio_numerator(),
                                  in.formula().ratio_denominator()};
    }
    r.limit_scope = ScopeFromProto(in.limit().scope());
    r.limit_amount = in.limit().amount_fen();
    r.required_documents.assign(in.required_documents().begin(), in.required_documents().end());
    r.waiting_period_days = in.waiting_period_days();
    r.early_claim_days = in.early_claim_days();
    r.eligible_gender = GenderFromProto(in.eligible_gender());
    r.child_max_age_years = in.child_max_age_years();
    for (const pb::Condition& c : in.conditions()) r.conditions.push_back(c.code());
    r.covered_causes.assign(in.covered_causes().begin(), in.covered_causes().end());
    slot = std::move(r);
  }

  std::vector<FieldViolation> violations = std::move(mapping);
  const Status valid = domain::ValidatePlan(plan);
  for (const FieldViolation& v : valid.violations()) violations.push_back(v);
  if (violations.empty()) return plan;

  // Domain paths name a rule by coverage ("coverages[ACCIDENTAL_INJURY].limit"); the file names
  // it by position. Translate, then point at the line.
  for (FieldViolation& v : violations) {
    if (v.field.rfind("coverages[", 0) == 0) {
      const size_t close = v.field.find(']');
      const std::string key = v.field.substr(10, close - 10);
      if (auto it = index_of.find(key); it != index_of.end()) {
        v.field = "coverages[" + std::to_string(it->second) + "]" + v.field.substr(close + 1);
        v.description = "(" + key + ") " + v.description;
      }
    }
    const int line = LineOf(v.field, proto, tree);
    v.field = source + ":" + (line > 0 ? std::to_string(line) + ": " : " ") + v.field;
  }
  return InvalidArgument("invalid plan file " + source, std::move(violations));
}

Result<domain::Plan> LoadPlanFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read plan file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return NotFound("cannot read plan file " + path);
  return ParsePlan(buffer.str(), path);
}

}  // namespace claims::codec
