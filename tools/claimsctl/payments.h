#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "mutualaid/payout/v1/payout.grpc.pb.h"
#include "tools/claimsctl/client.h"

// The operators' and auditors' payment commands over payout's PayoutService
// (proto/mutualaid/payout/v1/payout.proto): payments list|get|hold|release|reissue|ledger,
// payments batch create|get, payments import-status. Reads admit operators and auditors;
// mutating commands need the operator role and an idempotency key (a retry with the same key is
// answered with the first attempt's result).
namespace claims::ctl {

// Pages through payout's ListPayments for `request`'s filters to the last page, calling `visit`
// with each payment until it returns false. Each page asks for `rows_wanted()` rows (when given;
// else `page_size`), clamped to 1..page_size (at most 500). The first failed call's status.
grpc::Status ForEachPayment(mutualaid::payout::v1::PayoutService::Stub& stub, const Connection& c,
                            mutualaid::payout::v1::ListPaymentsRequest request, int page_size,
                            const std::function<bool(const mutualaid::payout::v1::Payment&)>& visit,
                            const std::function<int64_t()>& rows_wanted = {});

class PaymentCommands {
 public:
  // Registers "payments" and its subcommands on `app`; `output` is the shared --output value.
  void Register(CLI::App& app, std::string& output);
  // The exit code when one of these commands was parsed; nullopt otherwise.
  std::optional<int> Run();

 private:
  int List();
  int Get();
  int Hold(bool hold);
  int Reissue();
  int Ledger();
  int CreateBatch();
  int GetBatch();
  int ImportStatus();

  std::string* output_ = nullptr;
  Connection payout_;
  CLI::App* list_ = nullptr;
  CLI::App* get_ = nullptr;
  CLI::App* hold_ = nullptr;
  CLI::App* release_ = nullptr;
  CLI::App* reissue_ = nullptr;
  CLI::App* ledger_ = nullptr;
  CLI::App* batch_create_ = nullptr;
  CLI::App* batch_get_ = nullptr;
  CLI::App* import_ = nullptr;

  // list filters
  std::string member_, claim_, status_, batch_;
  int64_t limit_ = 0;
  int page_size_ = 500;
  // one payment or batch
  std::string id_;
  std::string key_;
  std::string note_;
  std::string payee_enrollment_;
  std::string execution_date_;
  std::string xml_out_;
  // import-status
  std::string report_file_;
};

}  // namespace claims::ctl
