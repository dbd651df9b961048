#include "tools/claimsctl/table.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

namespace claims::ctl {
namespace {

std::string Csv(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Display width: UTF-8 continuation bytes take no column.
size_t Width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

void Table::Print(const std::string& format, std::ostream& out) const {
  auto is_numeric = [&](size_t i) { return i < numeric.size() && numeric[i]; };
  if (format == "json") {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& row : rows) {
      nlohmann::ordered_json o;
      for (size_t i = 0; i < columns.size() && i < row.size(); ++i) {
        if (is_numeric(i)) {
          o[columns[i]] = std::stoll(row[i]);
        } else {
          o[columns[i]] = row[i];
        }
      }
      j.push_back(o);
    }
    out << j.dump(2) << "\n";
    return;
  }
  if (format == "csv") {
    for (size_t i = 0; i < columns.size(); ++i) out << (i ? "," : "") << Csv(columns[i]);
    out << "\n";
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << Csv(row[i]);
      out << "\n";
    }
    return;
  }
  std::vector<size_t> width(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) width[i] = Width(columns[i]);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], Width(row[i]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      const std::string pad(width[i] - Width(cells[i]), ' ');
      if (i > 0) out << "  ";
      out << (is_numeric(i) ? pad + cells[i] : cells[i] + (i + 1 < cells.size() ? pad : ""));
    }
    out << "\n";
  };
  line(columns);
  for (const auto& row : rows) line(row);
}

}  // namespace claims::ctl
