#pragma once

#include <iosfwd>
#include <string>
#include <vector>

// Rows printed as an aligned table, CSV (RFC 4180 quoting) or JSON (an array of objects keyed by
// column name; cells listed in `numeric` are printed as JSON numbers).
namespace claims::ctl {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> numeric;  // per column; empty: all text

  // format: "table", "csv" or "json".
  void Print(const std::string& format, std::ostream& out) const;
};

}  // namespace claims::ctl
